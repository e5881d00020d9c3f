"""The ThingSpace face end to end: `pollgate run` in a subprocess, the operator commands against its AWS endpoint,
and a client speaking HTTP to it exactly as a ThingSpace client would; callbacks land on a loopback listener."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pollgate_local.client import call
from pollgate_local.process import RuntimeProcess
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook

from tests.helpers.runtime import run_operator
from tests.helpers.thingspace import Seeded, operator, seed
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

ACCOUNT = "0000555555-00001"
POLL_SECONDS = 15.0


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.headers: dict[str, str] = {}

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        answer = call(self.base_url, method, path, body, {**self.headers, **(headers or {})}, raw)
        return answer.status, answer.body


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess("--no-demo") as process:
        yield process


@pytest.fixture(scope="module")
def seeded(runtime: RuntimeProcess) -> Seeded:
    seeded = seed(
        runtime,
        client_key="e2e-client",
        account=ACCOUNT,
        username="e2e-user",
        devices=[(f"imei=35000000000000{n}", f"iccid=8914800000080078420{n}") for n in range(4)],
    )
    operator(
        runtime,
        "add-user",
        "--username",
        "locked-out",
        "--password-stdin",
        "--account",
        ACCOUNT,
        stdin="right-password\n",
    )
    return seeded


@pytest.fixture(scope="module")
def client(runtime: RuntimeProcess, seeded: Seeded) -> Client:
    """A client that has a bearer token and a session, as after the first two calls of any ThingSpace script."""
    client = Client(runtime.base_url)
    basic = "Basic " + base64.b64encode(f"{seeded.client_key}:{seeded.client_secret}".encode()).decode()
    status, token = client.call(
        "POST",
        "/api/ts/v1/oauth2/token",
        raw=b"grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded", "authorization": basic},
    )
    assert status == 200 and token["expires_in"] == 3600
    status, again = client.call(
        "POST",
        "/api/ts/v1/oauth2/token",
        raw=b"grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded", "authorization": basic},
    )
    assert (status, again["access_token"]) == (200, token["access_token"])
    client.headers["authorization"] = f"Bearer {token['access_token']}"
    status, session = client.call(
        "POST", "/api/m2m/v1/session/login", {"username": seeded.username, "password": seeded.password}
    )
    assert status == 200
    client.headers["vz-m2m-token"] = session["sessionToken"]
    return client


@pytest.fixture
def listener(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4  # pytest-httpserver's shared server on 127.0.0.1, cleared before each test


def activate(client: Client, *imeis: str) -> str:
    status, answer = client.call(
        "POST",
        "/api/m2m/v1/devices/actions/activate",
        {
            "accountName": ACCOUNT,
            "servicePlan": "M2M_4G",
            "devices": [{"deviceIds": [{"kind": "imei", "id": imei}]} for imei in imeis],
        },
    )
    assert status == 200, answer
    return str(answer["requestId"])


def poll_until_done(client: Client, request_id: str) -> str:
    def terminal() -> str | None:
        status, answer = client.call("GET", f"/api/m2m/v1/accounts/{ACCOUNT}/requests/{request_id}/status")
        assert status == 200, answer
        return None if answer["status"] == "Pending" else str(answer["status"])

    return eventually(terminal, POLL_SECONDS, what=f"request {request_id} to end")


def wait_for_requests(listener: HTTPServer, count: int) -> list[Any]:
    eventually(lambda: len(listener.log) >= count, POLL_SECONDS, what=f"{count} callbacks")
    return [request for request, _ in listener.log]


def test_token_login_activate_poll_and_a_verified_callback(client: Client, listener: HTTPServer) -> None:
    listener.expect_request("/carrier", method="POST").respond_with_data("ok")
    status, registered = client.call(
        "POST",
        f"/api/m2m/v1/callbacks/{ACCOUNT}",
        {"name": "CarrierService", "url": listener.url_for("/carrier"), "username": "cb", "password": "cb-pass"},
    )
    assert status == 200 and registered["serviceName"] == "CarrierService"

    request_id = activate(client, "350000000000000")
    assert poll_until_done(client, request_id) == "Success"

    [request] = wait_for_requests(listener, 1)
    payload = Webhook(registered["signingSecret"]).verify(request.get_data(), dict(request.headers))
    assert payload["requestId"] == request_id and payload["status"] == "Success"
    assert payload["deviceIds"] == [{"kind": "imei", "id": "350000000000000"}]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"cb:cb-pass").decode()

    again = activate(client, "350000000000000")
    assert poll_until_done(client, again) == "Failed"
    second = wait_for_requests(listener, 2)[1]
    failure = json.loads(second.get_data())
    assert failure["faultResponse"]["faultcode"] == "REQUEST_FAILED.DeviceAlreadyActive"
    assert client.call("DELETE", f"/api/m2m/v1/callbacks/{ACCOUNT}/name/CarrierService")[0] == 200


def test_a_multi_device_request_has_no_status_but_every_device_moves(
    client: Client, seeded: Seeded, runtime: RuntimeProcess
) -> None:
    moved = {"350000000000001", "350000000000002"}
    request_id = activate(client, *sorted(moved))

    def states() -> list[str]:
        listed = run_operator(runtime, "pollgate.thingspace.operator", "list-devices", "--account", ACCOUNT)
        return [d["state"] for d in map(json.loads, listed.splitlines()) if d["ids"]["imei"] in moved]

    eventually(lambda: states() == ["active", "active"], POLL_SECONDS, interval=0.1, what="both devices active")
    status, answer = client.call("GET", f"/api/m2m/v1/accounts/{ACCOUNT}/requests/{request_id}/status")
    assert (status, answer["errorCode"]) == (400, "REQUEST_FAILED.MultipleDevicesRequest")


def test_error_codes_over_http(client: Client, runtime: RuntimeProcess) -> None:
    bare = Client(runtime.base_url)
    status, answer = bare.call("POST", "/api/ts/v1/oauth2/token", raw=b"grant_type=client_credentials")
    assert (status, answer["fault"]["code"]) == (401, "900902")
    status, answer = bare.call("GET", f"/api/m2m/v1/callbacks/{ACCOUNT}", headers={"authorization": "Bearer nope"})
    assert (status, answer["fault"]["code"]) == (401, "900901")
    status, answer = client.call("GET", f"/api/m2m/v1/callbacks/{ACCOUNT}", headers={"vz-m2m-token": "nope"})
    assert (status, answer["errorCode"]) == (400, "INPUT_INVALID.SessionToken.Invalid")
    status, answer = client.call(
        "POST",
        f"/api/m2m/v1/callbacks/{ACCOUNT}",
        raw=b'{"name": "CarrierService"}',
        headers={"content-type": "text/plain"},
    )
    assert (status, answer["errorCode"]) == (400, "INPUT_INVALID.ContentType.Invalid")
    status, answer = client.call("GET", "/api/m2m/v1/callbacks/not-mine")
    assert (status, answer["errorCode"]) == (400, "REQUEST_FAILED.AccountNotFound")
    status, answer = client.call("GET", f"/api/m2m/v1/accounts/{ACCOUNT}/requests/no-such-request/status")
    assert (status, answer["errorCode"]) == (400, "REQUEST_FAILED.RequestNotFound")
    status, answer = client.call("POST", "/api/m2m/v1/devices/actions/activate", {"accountName": ACCOUNT})
    assert (status, answer["errorCode"]) == (400, "INPUT_INVALID.Devices.Invalid")
    request_id = activate(client, "999999999999999")
    assert poll_until_done(client, request_id) == "Failed"


def test_wrong_passwords_are_slowed_then_lock_the_user(client: Client) -> None:
    codes: list[str] = []

    def guess() -> bool:  # from the third failure on, guesses are refused unchecked for 1 s, then 2 s
        codes.append(
            client.call(
                "POST", "/api/m2m/v1/session/login", {"username": "locked-out", "password": f"no-{len(codes)}"}
            )[1]["errorCode"]
        )
        return codes[-1] == "REQUEST_FAILED.UserLocked"

    eventually(guess, 30, interval=0.25, what="the fifth checked failure locks the user")
    assert set(codes[:-1]) == {"REQUEST_FAILED.UserNotAuthenticated"}
    assert len(codes) >= 5
    status, answer = client.call(
        "POST", "/api/m2m/v1/session/login", {"username": "locked-out", "password": "right-password"}
    )
    assert (status, answer["errorCode"]) == (400, "REQUEST_FAILED.UserLocked")


def test_logout_ends_the_session(client: Client, seeded: Seeded) -> None:
    status, session = client.call(
        "POST", "/api/m2m/v1/session/login", {"username": seeded.username, "password": seeded.password}
    )
    mine = {"vz-m2m-token": session["sessionToken"]}
    assert client.call("POST", "/api/m2m/v1/session/logout", headers=mine)[0] == 200
    status, answer = client.call("GET", f"/api/m2m/v1/callbacks/{ACCOUNT}", headers=mine)
    assert (status, answer["errorCode"]) == (400, "INPUT_INVALID.SessionToken.Invalid")
