"""Key upload, rotation without lock-out, and revocation at once, through the real handlers on moto."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pollgate import clock
from pollgate.settings import get_settings
from pollgate.uai.history import record_status_log
from pollgate.uai.keys import invalidate_key_cache

from tests.conftest import DeviceKey
from tests.helpers.uai import KEY_PATH, MISSING_ARN, REPORT, STATUS_LOG, body, poll, polling_id
from tests.integration.conftest import ADMIN_TOKEN, Function

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def fns(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Function]:
    monkeypatch.setenv("UAI_STATUS_LOG_STATE_MACHINE_ARN", MISSING_ARN)
    return {
        name: Function(f"uai_{name}")
        for name in ("submit_status_log", "poll_status_log", "upload_key", "list_keys", "revoke_key")
    }


def upload(
    fns: dict[str, Function], public_b64: str, headers: dict[str, str] | None = ADMIN, **extra: Any
) -> dict[str, Any]:
    return fns["upload_key"].http("PUT", KEY_PATH, body={"publicKey": public_b64, **extra}, headers=headers)


def keys(fns: dict[str, Function]) -> dict[str, str]:
    answer = fns["list_keys"].http("GET", KEY_PATH, headers=ADMIN)
    assert answer["statusCode"] == 200
    return {k["keyId"]: k["state"] for k in body(answer)["keys"]}


def revoke(fns: dict[str, Function], key_id: str, headers: dict[str, str] | None = ADMIN) -> dict[str, Any]:
    return fns["revoke_key"].http(
        "DELETE",
        f"{KEY_PATH}/{key_id}",
        route=f"{KEY_PATH}/{{keyId}}",
        path_parameters={"keyId": key_id},
        headers=headers,
    )


def submit(fns: dict[str, Function], key: DeviceKey) -> dict[str, Any]:
    return fns["submit_status_log"].http(
        "POST", STATUS_LOG, body=REPORT, headers={"Authorization": f"Bearer {key.token()}"}
    )


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
    ],
)
def test_key_management_needs_the_admin_secret(
    fns: dict[str, Function], device_key: DeviceKey, headers: dict[str, str] | None
) -> None:
    for answer in (
        upload(fns, device_key.public_b64, headers),
        revoke(fns, "abc", headers),
        fns["list_keys"].http("GET", KEY_PATH, headers=headers),
    ):
        assert answer["statusCode"] == 401
        assert body(answer)["key"] == "auth.adminRequired"
    assert keys(fns) == {}


def test_admin_secret_never_reaches_the_logs(
    fns: dict[str, Function], device_key: DeviceKey, capsys: pytest.CaptureFixture[str]
) -> None:
    upload(fns, device_key.public_b64)
    upload(fns, device_key.public_b64, {"Authorization": "Bearer guess"})
    captured = capsys.readouterr()
    assert ADMIN_TOKEN not in captured.out + captured.err
    assert "guess" not in captured.out + captured.err


def _der(key: Any) -> str:
    return base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()


@pytest.mark.parametrize(
    "bad",
    [
        "not base64!",
        base64.b64encode(b"not a key").decode(),
        _der(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505 - the weak key under test
        _der(ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_a_key_that_is_not_a_2048_bit_rsa_der_is_400(fns: dict[str, Function], bad: str) -> None:
    answer = upload(fns, bad)
    assert answer["statusCode"] == 400
    assert body(answer)["key"] == "key.invalid"


def test_upload_makes_devices_accepted_at_once(fns: dict[str, Function], device_key: DeviceKey) -> None:
    assert submit(fns, device_key)["statusCode"] == 401
    answer = upload(fns, device_key.public_b64)
    assert answer["statusCode"] == 200 and body(answer)["key"] == "key.uploaded"
    assert submit(fns, device_key)["statusCode"] == 202
    assert list(keys(fns).values()) == ["active"]


def test_rotation_keeps_old_tokens_working_through_the_grace_period(
    fns: dict[str, Function], device_key: DeviceKey, second_device_key: DeviceKey
) -> None:
    grace = get_settings().key_rotation_grace_seconds
    start = time.time()
    with clock.frozen(start) as advance:
        old_id = body(upload(fns, device_key.public_b64))["arguments"]
        new_id = body(upload(fns, second_device_key.public_b64))["arguments"]
        assert keys(fns) == {old_id: "retiring", new_id: "active"}
        invalidate_key_cache()
        old_token = device_key.token(now=start, expires_in=3600)
        answer = fns["submit_status_log"].http(
            "POST", STATUS_LOG, body=REPORT, headers={"Authorization": f"Bearer {old_token}"}
        )
        assert answer["statusCode"] == 202
        assert record_status_log(polling_id(answer)) == "Succeeded"
        advance(grace + 1)
        invalidate_key_cache()
        # signed by the old key now (a lifetime within MaxDeviceTokenLifetimeSeconds): refused, the key is revoked
        old_token = device_key.token(now=start + grace + 1, expires_in=3600)
        late = fns["submit_status_log"].http(
            "POST", STATUS_LOG, body=REPORT, headers={"Authorization": f"Bearer {old_token}"}
        )
        assert late["statusCode"] == 401
        assert keys(fns)[old_id] == "revoked"
        fresh = second_device_key.token(now=start + grace + 1)
        assert (
            fns["submit_status_log"].http(
                "POST", STATUS_LOG, body=REPORT, headers={"Authorization": f"Bearer {fresh}"}
            )["statusCode"]
            == 202
        )


def test_revoke_others_on_upload_locks_the_old_key_out_at_once(
    fns: dict[str, Function], device_key: DeviceKey, second_device_key: DeviceKey
) -> None:
    upload(fns, device_key.public_b64)
    upload(fns, second_device_key.public_b64, revokeOthers=True)
    assert sorted(keys(fns).values()) == ["active", "revoked"]
    answer = submit(fns, device_key)
    assert (answer["statusCode"], body(answer)["key"]) == (401, "auth.signatureInvalid")


def test_revoked_key_stops_reports_already_accepted_by_a_warm_function(
    fns: dict[str, Function], device_key: DeviceKey
) -> None:
    key_id = body(upload(fns, device_key.public_b64))["arguments"]
    accepted = submit(fns, device_key)  # accepted before the revocation reaches this warm function's cache
    assert accepted["statusCode"] == 202
    assert revoke(fns, key_id)["statusCode"] == 200
    assert record_status_log(polling_id(accepted)) == "Failed"
    outcome = poll(fns, polling_id(accepted))
    assert body(outcome)["key"] == "statusLog.keyRevoked"
    assert submit(fns, device_key)["statusCode"] == 401


def test_revoking_an_unknown_key_is_404_and_a_revoked_key_cannot_return(
    fns: dict[str, Function], device_key: DeviceKey
) -> None:
    missing = revoke(fns, "no-such-key")
    assert (missing["statusCode"], body(missing)["key"]) == (404, "key.notFound")
    key_id = body(upload(fns, device_key.public_b64))["arguments"]
    revoke(fns, key_id)
    again = upload(fns, device_key.public_b64)
    assert (again["statusCode"], body(again)["key"]) == (409, "key.revoked")


def test_uploading_the_same_key_twice_is_harmless(fns: dict[str, Function], device_key: DeviceKey) -> None:
    first = body(upload(fns, device_key.public_b64))["arguments"]
    second = body(upload(fns, device_key.public_b64))["arguments"]
    assert first == second
    assert keys(fns) == {first: "active"}


def test_list_answer_shape(fns: dict[str, Function], device_key: DeviceKey) -> None:
    upload(fns, device_key.public_b64)
    answer = json.loads(fns["list_keys"].http("GET", KEY_PATH, headers=ADMIN)["body"])
    (view,) = answer["keys"]
    assert set(view) == {"keyId", "state", "uploadedAt", "notAfter"}
    assert view["notAfter"] is None
