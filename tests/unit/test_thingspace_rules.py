"""ThingSpace rules that need no AWS: credential hashing, header parsing, transitions, bodies, the HTTP backend."""

from __future__ import annotations

import base64
import json

import pytest
from pollgate import passwords
from pollgate.errors import DomainError
from pollgate.operations import Operation
from pollgate.thingspace import errors, hashing
from pollgate.thingspace.auth import basic_credentials
from pollgate.thingspace.carrier_service import carrier_service_body
from pollgate.thingspace.device_results import DeviceResult
from pollgate.thingspace.http import ThingSpaceError
from pollgate.thingspace.inventory import (
    TRANSITIONS,
    BackendUnavailable,
    DeviceTransition,
    HttpBackend,
    refusal,
)
from pollgate.thingspace.kinds import DeviceAction
from pollgate.thingspace.models import CallbackRegistration, DeviceActionRequest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

# ------------------------------------------------------------------------------------------ credentials


def test_scrypt_hashes_verify_only_the_right_secret_and_are_salted() -> None:
    stored = passwords.hash_secret("open sesame")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "open sesame" not in stored
    assert passwords.verify_secret("open sesame", stored)
    assert not passwords.verify_secret("open sesame!", stored)
    assert passwords.hash_secret("open sesame") != stored  # a fresh salt each time
    assert not passwords.verify_secret("x", "not-a-hash")
    assert not passwords.verify_secret("x", "bcrypt$1$2$3$4$5")


def test_a_bearer_token_is_recomputable_only_with_the_client_secret() -> None:
    token = hashing.derived_token("secret", "nonce")
    assert token == hashing.derived_token("secret", "nonce")
    assert token != hashing.derived_token("other-secret", "nonce")
    assert hashing.token_digest(token) != token and len(hashing.token_digest(token)) == 64


def test_basic_credentials_parse_key_and_secret_with_colons_in_the_secret() -> None:
    header = "Basic " + base64.b64encode(b"key:se:cret").decode()
    assert basic_credentials(header) == ("key", "se:cret")
    assert basic_credentials(header.replace("Basic", "basic")) == ("key", "se:cret")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "900902"),
        ("", "900902"),
        ("Bearer x", "900902"),
        ("Basic %%%", "900901"),
        ("Basic " + base64.b64encode(b":secret").decode(), "900901"),
        ("Basic " + base64.b64encode(b"key:").decode(), "900901"),
    ],
)
def test_bad_basic_headers_are_gateway_faults(header: str | None, code: str) -> None:
    with pytest.raises(DomainError) as raised:
        basic_credentials(header)
    answer = ThingSpaceError.refusing(raised.value)  # as the face answers it
    assert answer.status == 401
    assert answer.body["fault"]["code"] == code


def test_field_errors_name_the_field_in_the_vendors_code_shape() -> None:
    error = ThingSpaceError.field("devices.0.deviceIds", "too short")
    assert error.body["errorCode"] == "INPUT_INVALID.Devices.Invalid"
    assert "devices.0.deviceIds" in error.body["errorMessage"]


# ------------------------------------------------------------------------------------------ transitions


@pytest.mark.parametrize(
    ("action", "state", "code"),
    [
        (DeviceAction.ACTIVATE, "active", "REQUEST_FAILED.DeviceAlreadyActive"),
        (DeviceAction.ACTIVATE, "suspend", "REQUEST_FAILED.DeviceSuspended"),
        (DeviceAction.DEACTIVATE, "deactive", "REQUEST_FAILED.DeviceNotActive"),
        (DeviceAction.DEACTIVATE, "pre-active", "REQUEST_FAILED.DeviceNotActive"),
        (DeviceAction.SUSPEND, "suspend", "REQUEST_FAILED.DeviceAlreadySuspended"),
        (DeviceAction.SUSPEND, "deactive", "REQUEST_FAILED.DeviceNotActive"),
        (DeviceAction.RESTORE, "active", "REQUEST_FAILED.DeviceAlreadyActive"),
        (DeviceAction.RESTORE, "pre-active", "REQUEST_FAILED.DeviceNotSuspended"),
    ],
)
def test_every_illegal_move_has_the_vendors_code(action: DeviceAction, state: str, code: str) -> None:
    allowed_from, _ = TRANSITIONS[action]
    assert state not in allowed_from
    error, _arguments = refusal(action, state)
    assert error.code == code


def test_every_state_is_reachable_and_every_action_has_a_legal_start() -> None:
    reached = {to for _, to in TRANSITIONS.values()}
    assert reached == {"active", "deactive", "suspend"}
    assert all(allowed for allowed, _ in TRANSITIONS.values())


# ------------------------------------------------------------------------------------------ bodies


def test_device_id_kinds_are_the_vendors_seven_in_any_case() -> None:
    request = DeviceActionRequest.model_validate(
        {"accountName": "a", "devices": [{"deviceIds": [{"kind": "IMEI", "id": "1"}, {"kind": "iccid", "id": "2"}]}]}
    )
    assert [d.kind.value for d in request.devices[0].deviceIds] == ["imei", "iccid"]
    with pytest.raises(ValidationError):
        DeviceActionRequest.model_validate(
            {"accountName": "a", "devices": [{"deviceIds": [{"kind": "sn", "id": "1"}]}]}
        )


def test_options_carry_what_the_backend_needs_and_nothing_else() -> None:
    request = DeviceActionRequest.model_validate(
        {
            "accountName": "a",
            "servicePlan": "plan",
            "etfWaiver": True,
            "unknown": 1,
            "devices": [{"deviceIds": [{"kind": "mdn", "id": "1"}]}],
        }
    )
    assert request.options() == {"servicePlan": "plan", "etfWaiver": True}


def test_callback_urls_must_be_absolute_http() -> None:
    assert CallbackRegistration(name="CarrierService", url="https://h.example/x").url == "https://h.example/x"
    for url in ("/relative", "ftp://h.example", "https://"):
        with pytest.raises(ValidationError):
            CallbackRegistration(name="CarrierService", url=url)


def _operation(action: str = "activate") -> Operation:
    return Operation(
        id="req-1",
        kind="thingspace.deviceAction",
        tenant="acct",
        status="Succeeded",
        created_at="",
        updated_at="",
        available_until=0,
        work={"action": action},
    )


def test_the_carrier_service_body_of_a_success_and_of_a_failure() -> None:
    ids = [{"kind": "imei", "id": "1"}]
    success = carrier_service_body(_operation(), DeviceResult("req-1", 0, ids, True, "active", None, None))
    assert success == {
        "requestId": "req-1",
        "deviceIds": ids,
        "status": "Success",
        "maxCallbackThreshold": 4,
        "deviceResponse": {"activateResponse": {"deviceIds": ids, "state": "active"}},
    }
    failure = carrier_service_body(
        _operation("suspend"),
        DeviceResult(
            "req-1", 0, ids, False, None, errors.DEVICE_NOT_ACTIVE.code, "The device is deactive, not active."
        ),
    )
    assert failure["status"] == "Failed"
    assert failure["faultResponse"] == {
        "faultcode": "REQUEST_FAILED.DeviceNotActive",
        "faultstring": "The device is deactive, not active.",
    }


# ------------------------------------------------------------------------------------------ the HTTP backend

TRANSITION = DeviceTransition("req-1", 2, "acct", DeviceAction.SUSPEND, (("imei", "1"),), {"reasonCode": "FF"})


@pytest.fixture
def carrier(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4  # pytest-httpserver's shared server on 127.0.0.1, cleared before each test


def test_the_http_backend_posts_the_transition_with_an_idempotency_key(carrier: HTTPServer) -> None:
    carrier.expect_request("/carrier/suspend", method="POST", headers={"Idempotency-Key": "req-1#2"}).respond_with_json(
        {"state": "suspend"}
    )
    outcome = HttpBackend(carrier.url_for("/carrier")).apply(TRANSITION)
    assert outcome.succeeded and outcome.state == "suspend"
    [(request, _)] = carrier.log
    assert json.loads(request.get_data()) == {
        "requestId": "req-1",
        "accountName": "acct",
        "deviceIds": [{"id": "1", "kind": "imei"}],
        "options": {"reasonCode": "FF"},
    }


def test_the_http_backend_passes_a_refusal_on_with_its_code(carrier: HTTPServer) -> None:
    carrier.expect_request("/carrier/suspend").respond_with_json(
        {"errorCode": "REQUEST_FAILED.DeviceNotActive", "errorMessage": "no"}, status=400
    )
    outcome = HttpBackend(carrier.url_for("/carrier")).apply(TRANSITION)
    assert (outcome.succeeded, outcome.error_code) == (False, "REQUEST_FAILED.DeviceNotActive")


@pytest.mark.parametrize("status", [500, 503, 404])
def test_the_http_backend_reports_anything_else_as_unavailable(carrier: HTTPServer, status: int) -> None:
    carrier.expect_request("/carrier/suspend").respond_with_data("oops", status=status)
    with pytest.raises(BackendUnavailable):
        HttpBackend(carrier.url_for("/carrier")).apply(TRANSITION)


def test_the_http_backend_reports_a_closed_port_as_unavailable() -> None:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    url = server.url_for("/carrier")
    server.stop()
    with pytest.raises(BackendUnavailable):
        HttpBackend(url, timeout=2).apply(TRANSITION)


def test_the_http_backend_needs_an_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        HttpBackend("file:///etc/passwd")
