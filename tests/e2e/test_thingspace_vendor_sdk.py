"""The ThingSpace face driven by Verizon's own generated Python SDK (`sdksio-verizon-apis-sdk` 2.0.0), unmodified
but for its base URL (its configuration's server URLs, pointed at `pollgate run`): token, login, each device action
polled to its terminal status, the device list, callbacks registered, listed and deleted, and the SDK's typed
exceptions carrying errorCode/errorMessage for a wrong password and a bad session.

The SDK sends no Content-Type on its bodiless calls (status, list and delete callbacks) and reads the callback
list's `serviceName`: what a client written for the vendor's service relies on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pollgate_local.process import RuntimeProcess

from tests.helpers.thingspace import Seeded, seed
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

verizon = pytest.importorskip("verizon")  # the dev extras install it (pyproject.toml)

from verizon.configuration import Environment, Server  # noqa: E402
from verizon.exceptions.connectivity_management_result_exception import (  # noqa: E402
    ConnectivityManagementResultException,
)
from verizon.http.auth.thingspace_oauth import ThingspaceOauthCredentials  # noqa: E402
from verizon.http.auth.vz_m2m_token import VZM2mTokenCredentials  # noqa: E402
from verizon.http.http_call_back import HttpCallBack  # noqa: E402
from verizon.models.account_device_list import AccountDeviceList  # noqa: E402
from verizon.models.account_device_list_request import AccountDeviceListRequest  # noqa: E402
from verizon.models.carrier_actions_request import CarrierActionsRequest  # noqa: E402
from verizon.models.carrier_activate_request import CarrierActivateRequest  # noqa: E402
from verizon.models.carrier_deactivate_request import CarrierDeactivateRequest  # noqa: E402
from verizon.models.device_id import DeviceId  # noqa: E402
from verizon.models.log_in_request import LogInRequest  # noqa: E402
from verizon.models.register_callback_request import RegisterCallbackRequest  # noqa: E402
from verizon.verizon_client import VerizonClient  # noqa: E402

ACCOUNT = "0000777777-00001"
IMEIS = [f"35777700000000{n}" for n in range(3)]
CLIENT_KEY = "sdk-client"


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess("--no-demo") as process:
        yield process


@pytest.fixture(scope="module")
def seeded(runtime: RuntimeProcess) -> Seeded:
    return seed(
        runtime, client_key=CLIENT_KEY, account=ACCOUNT, username="sdk-user", devices=[(f"imei={i}",) for i in IMEIS]
    )


class Recorder(HttpCallBack):  # type: ignore[misc]
    """The SDK's own hook: what it sent, as (method, url, headers), to check it unchanged."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def on_before_request(self, request: Any) -> None:
        method = getattr(request.http_method, "value", request.http_method)
        self.sent.append((str(method), str(request.query_url), {k.lower(): v for k, v in request.headers.items()}))

    def on_after_response(self, response: Any) -> None:
        return None


SENT = Recorder()


def sdk(base_url: str, secret: str, session: str | None = None) -> Any:
    """The vendor's client as a customer builds it, its servers pointed at the runtime (nothing else changed)."""
    client = VerizonClient(
        thingspace_oauth_credentials=ThingspaceOauthCredentials(oauth_client_id=CLIENT_KEY, oauth_client_secret=secret),
        vz_m2m_token_credentials=VZM2mTokenCredentials(vz_m2m_token=session) if session else None,
        environment=Environment.PRODUCTION,
        timeout=10,
        http_call_back=SENT,
    )
    servers = dict(client.config.environments[Environment.PRODUCTION])
    servers.update(
        {
            Server.THINGSPACE: f"{base_url}/api",
            Server.OAUTH_SERVER: f"{base_url}/api/ts/v1",
            Server.M2M: f"{base_url}/api/m2m",
        }
    )
    client.config.environments = {**client.config.environments, Environment.PRODUCTION: servers}
    return client


@pytest.fixture(scope="module")
def client(runtime: RuntimeProcess, seeded: Seeded) -> Any:
    anonymous = sdk(runtime.base_url, seeded.client_secret)
    answer = anonymous.session_management.start_connectivity_management_session(
        LogInRequest(username=seeded.username, password=seeded.password)
    )
    assert answer.status_code == 200 and answer.body.session_token
    return sdk(runtime.base_url, seeded.client_secret, answer.body.session_token)


def devices(*imeis: str) -> list[AccountDeviceList]:
    return [AccountDeviceList(device_ids=[DeviceId(id=imei, kind="imei")]) for imei in imeis]


def terminal_status(client: Any, request_id: str) -> str:
    def status() -> str | None:
        answer = client.account_requests.get_current_asynchronous_request_status(ACCOUNT, request_id)
        assert answer.status_code == 200, answer.text
        return None if answer.body.status == "Pending" else str(answer.body.status)

    return eventually(status, 30, interval=0.1, what=f"request {request_id} to end")


def state_of(client: Any, imei: str) -> str:
    answer = client.device_management.list_devices_information(
        AccountDeviceListRequest(account_name=ACCOUNT, device_id=DeviceId(id=imei, kind="imei"))
    )
    assert answer.status_code == 200, answer.text
    [device] = answer.body.devices
    assert [(i.id, i.kind) for i in device.device_ids] == [(imei, "imei")]
    # The SDK's model of a listed device keeps only its ids: the state is in the body it received.
    [carrier] = json.loads(answer.text)["devices"][0]["carrierInformations"]
    return str(carrier["state"])


def test_each_device_action_polled_to_its_terminal_status(client: Any) -> None:
    management = client.device_management
    imei = IMEIS[0]
    steps = [
        (
            management.activate_service_for_devices,
            CarrierActivateRequest(
                account_name=ACCOUNT, devices=devices(imei), service_plan="M2M_4G", mdn_zip_code="98801"
            ),
            "active",
        ),
        (
            management.suspend_service_for_devices,
            CarrierActionsRequest(account_name=ACCOUNT, devices=devices(imei)),
            "suspend",
        ),
        (
            management.restore_service_for_suspended_devices,
            CarrierActionsRequest(account_name=ACCOUNT, devices=devices(imei)),
            "active",
        ),
        (
            management.deactivate_service_for_devices,
            CarrierDeactivateRequest(account_name=ACCOUNT, devices=devices(imei), reason_code="FF"),
            "deactive",
        ),
    ]
    for call, body, state in steps:
        answer = call(body)
        assert answer.status_code == 200, answer.text
        assert terminal_status(client, answer.body.request_id) == "Success"
        assert state_of(client, imei) == state
    refused = management.suspend_service_for_devices(CarrierActionsRequest(account_name=ACCOUNT, devices=devices(imei)))
    assert terminal_status(client, refused.body.request_id) == "Failed"  # a deactive device cannot be suspended


def test_the_device_list_pages_with_has_more_data(client: Any) -> None:
    first = client.device_management.list_devices_information(
        AccountDeviceListRequest(account_name=ACCOUNT, max_number_of_devices=2)
    )
    assert first.status_code == 200, first.text
    assert first.body.has_more_data is True and len(first.body.devices) == 2
    last_seen = json.loads(first.text)["lastSeenDeviceId"]
    rest = client.device_management.list_devices_information(
        AccountDeviceListRequest(account_name=ACCOUNT, max_number_of_devices=2, largest_device_id_seen=last_seen)
    )
    assert rest.body.has_more_data is False
    listed = [d.device_ids[0].id for d in first.body.devices + rest.body.devices]
    assert listed == IMEIS


def test_callbacks_registered_listed_and_deleted(client: Any) -> None:
    callbacks = client.connectivity_callbacks
    registered = callbacks.register_callback(
        ACCOUNT,
        RegisterCallbackRequest(
            name="CarrierService", url="https://listener.example/carrier", username="cb", password="cb-pass"
        ),
    )
    assert registered.status_code == 200, registered.text
    assert registered.body.service_name == "CarrierService"
    listed = callbacks.list_registered_callbacks(ACCOUNT)
    assert listed.status_code == 200, listed.text
    [callback] = listed.body
    assert (callback.account_name, callback.service_name, callback.url, callback.username) == (
        ACCOUNT,
        "CarrierService",
        "https://listener.example/carrier",
        "cb",
    )
    assert not hasattr(callback, "password")
    deleted = callbacks.deregister_callback(ACCOUNT, "CarrierService")
    assert deleted.status_code == 200, deleted.text
    assert callbacks.list_registered_callbacks(ACCOUNT).body == []
    bodiless = [headers for method, url, headers in SENT.sent if method in {"GET", "DELETE"} and "/callbacks/" in url]
    assert len(bodiless) >= 3
    assert all("content-type" not in headers for headers in bodiless)  # as the vendor's SDK sends them


def test_typed_exceptions_carry_error_code_and_message(runtime: RuntimeProcess, seeded: Seeded) -> None:
    anonymous = sdk(runtime.base_url, seeded.client_secret)
    with pytest.raises(ConnectivityManagementResultException) as wrong:
        anonymous.session_management.start_connectivity_management_session(
            LogInRequest(username="sdk-user", password="not-the-password")
        )
    assert wrong.value.response_code == 400
    assert wrong.value.error_code == "REQUEST_FAILED.UserNotAuthenticated" and wrong.value.error_message
    stale = sdk(runtime.base_url, seeded.client_secret, "not-a-session")
    with pytest.raises(ConnectivityManagementResultException) as bad:
        stale.connectivity_callbacks.list_registered_callbacks(ACCOUNT)
    assert bad.value.error_code == "INPUT_INVALID.SessionToken.Invalid" and bad.value.error_message
