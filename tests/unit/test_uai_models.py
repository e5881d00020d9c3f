"""The status-log request body: every field's type and limits (API.md section 1)."""

from __future__ import annotations

from typing import Any

import pytest
from pollgate.uai.messages import STATUS_LOGGED, MessageKey
from pollgate.uai.models import StatusLogRequest
from pydantic import ValidationError

VALID: dict[str, Any] = {
    "id": "00:11:22:33:44:55",
    "idType": "ETHERNET",
    "language": 1033,
    "packageId": "pkg-1",
    "platform": "WIN64",
    "publisherName": "acme",
    "statusCode": 4,
    "statusReason": "installed",
    "timeStamp": "2026-11-22T10:00:00Z",
    "updateId": "upd-1",
    "updateName": "Update 1",
}


def invalid_fields(body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        StatusLogRequest.model_validate(body)
    return {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}


def test_the_seed_body_is_accepted_with_client_as_default_device_class() -> None:
    assert StatusLogRequest.model_validate(VALID).deviceClass == "client"


def test_anonymous_device_leaves_identity_empty() -> None:
    report = StatusLogRequest.model_validate({**VALID, "id": "", "idType": "", "publisherName": ""})
    assert report.id == "" and report.idType == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("statusReason", "x" * 101),
        ("statusCode", 9),
        ("statusCode", -1),
        ("statusCode", "4"),
        ("statusCode", 4.5),
        ("statusCode", True),
        ("language", "1033"),
        ("language", 70000),
        ("idType", "MAC"),
        ("timeStamp", "yesterday"),
        ("timeStamp", ""),
        ("packageId", ""),
        ("updateId", ""),
        ("updateName", "u" * 257),
        ("platform", ""),
        ("deviceClass", "laptop"),
        ("id", 12345),
    ],
)
def test_each_bad_field_is_named(field: str, value: Any) -> None:
    assert field in invalid_fields({**VALID, field: value})


@pytest.mark.parametrize(
    "field", ["language", "packageId", "platform", "statusCode", "timeStamp", "updateId", "updateName"]
)
def test_required_fields(field: str) -> None:
    body = dict(VALID)
    del body[field]
    assert field in invalid_fields(body)


def test_id_without_id_type_is_refused_on_id_type() -> None:
    assert "idType" in invalid_fields({**VALID, "idType": ""})


def test_status_reason_of_exactly_100_characters_is_fine() -> None:
    assert len(StatusLogRequest.model_validate({**VALID, "statusReason": "r" * 100}).statusReason) == 100


def test_messages_render_the_vendor_shape() -> None:
    body = STATUS_LOGGED.render(4, "upd-1", "ETHERNET:x")
    assert set(body) == {"arguments", "key", "message"}
    assert body["arguments"] == "4, upd-1, ETHERNET:x"
    assert body["message"] == "Status 4 of update upd-1 was logged for device ETHERNET:x."


def test_every_message_key_is_unique() -> None:
    from pollgate.uai import messages

    keys = [v.key for v in vars(messages).values() if isinstance(v, MessageKey)]
    assert len(keys) == len(set(keys))


def test_every_message_key_is_in_the_docs_table() -> None:
    """Clients match `key`: each one the face can answer is in docs/uai.md's "UAI message keys"."""
    from pollgate.uai import messages

    from tests.conftest import ROOT

    table = (ROOT / "docs" / "uai.md").read_text().split("\n## UAI message keys\n", 1)[1].split("\n#", 1)[0]
    missing = [v.key for v in vars(messages).values() if isinstance(v, MessageKey) and f"`{v.key}`" not in table]
    assert not missing


def test_id_with_id_type_omitted_is_refused_on_id_type() -> None:
    body = dict(VALID)
    del body["idType"]
    assert "idType" in invalid_fields(body)


def test_time_stamp_accepts_rfc3339_lower_case_separators() -> None:
    assert StatusLogRequest.model_validate({**VALID, "timeStamp": "2026-11-22t10:00:00z"}).timeStamp.endswith("z")
