"""Idempotency-Key on the status-log POST: a retried request answers the same polling ID and starts nothing new."""

from __future__ import annotations

from typing import Any
from unittest.mock import Mock

import pytest
from botocore.exceptions import ClientError
from pollgate.operations import OperationStore
from pollgate.store import Table

from tests.conftest import DeviceKey
from tests.fault_injection import THROTTLED
from tests.helpers.uai import REPORT, STATUS_LOG, body, polling_id
from tests.integration.conftest import Function


def post(
    uai: dict[str, Function],
    key: DeviceKey,
    idempotency_key: str | None,
    report: Any = REPORT,
    subject: str = "device-1",
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key.token(claims={'sub': subject})}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return uai["submit_status_log"].http("POST", STATUS_LOG, body=report, headers=headers)


def operations() -> int:
    return len(list(Table().due("OP", "9999")))


def test_same_key_same_body_answers_the_same_polling_id_once(uai: dict[str, Function], device_key: DeviceKey) -> None:
    first = post(uai, device_key, "retry-1")
    again = post(uai, device_key, "retry-1")
    assert first["statusCode"] == again["statusCode"] == 202
    assert polling_id(first) == polling_id(again)
    assert again["headers"]["Location"] == first["headers"]["Location"]
    assert operations() == 1


def test_same_key_other_body_is_422(uai: dict[str, Function], device_key: DeviceKey) -> None:
    post(uai, device_key, "retry-2")
    changed = post(uai, device_key, "retry-2", {**REPORT, "statusCode": 2})
    assert changed["statusCode"] == 422
    assert body(changed)["key"] == "idempotency.keyReused"
    assert operations() == 1


def test_without_the_header_every_post_is_new_work(uai: dict[str, Function], device_key: DeviceKey) -> None:
    assert polling_id(post(uai, device_key, None)) != polling_id(post(uai, device_key, None))
    assert operations() == 2


def test_the_key_is_scoped_to_the_device(uai: dict[str, Function], device_key: DeviceKey) -> None:
    one = post(uai, device_key, "1", subject="device-a")
    other = post(uai, device_key, "1", {**REPORT, "id": "66:77:88:99:aa:bb"}, subject="device-b")
    assert other["statusCode"] == 202
    assert polling_id(one) != polling_id(other)


@pytest.mark.parametrize("bad", ["", "x" * 256, "caf\u00e9", "tab\tkey"])
def test_an_unusable_key_is_400(uai: dict[str, Function], device_key: DeviceKey, bad: str) -> None:
    answer = post(uai, device_key, bad)
    assert answer["statusCode"] == 400
    assert body(answer)["key"] == "idempotency.keyInvalid"
    assert operations() == 0


def test_a_submit_that_fails_after_taking_its_key_is_503_and_its_retry_is_accepted(
    uai: dict[str, Function], device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key is claimed, then storing the operation is throttled: the claim must be released (DeleteItem),
    # or the retry would find the key "in progress" for as long as the claim lasts.
    throttled = ClientError({"Error": {"Code": THROTTLED, "Message": "injected"}}, "PutItem")
    with monkeypatch.context() as patch:
        patch.setattr(OperationStore, "create", Mock(side_effect=throttled))
        failed = post(uai, device_key, "retry-after-a-fault")
    assert failed["statusCode"] == 503
    retried = post(uai, device_key, "retry-after-a-fault")
    assert retried["statusCode"] == 202
    assert operations() == 1
