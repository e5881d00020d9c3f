"""The status-log face as a client calls it: a report, submit, poll; and `uai_stack`, the local harness with the
device key uploaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from pollgate_local.stack import MOTO_CONFIG, LocalStack

from tests.aws_fixtures import http_event
from tests.conftest import DeviceKey
from tests.integration.conftest import MISSING_STATE_MACHINE, UAI_KEY_PATH, Function

REPORT: dict[str, Any] = {
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
KEY_PATH = UAI_KEY_PATH
STATUS_LOG = "/uai/2.0/updates/statusLog"
MISSING_ARN = MISSING_STATE_MACHINE


def body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def submit(uai: dict[str, Function], token: str | None, report: Any = REPORT, **kwargs: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return uai["submit_status_log"].http("POST", STATUS_LOG, body=report, headers=headers, **kwargs)


def poll(uai: dict[str, Function], polling_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return uai["poll_status_log"].http(
        "GET",
        f"{STATUS_LOG}/{polling_id}",
        route=f"{STATUS_LOG}/{{pollingId}}",
        path_parameters={"pollingId": polling_id},
        headers=headers,
    )


def polling_id(answer: dict[str, Any]) -> str:
    return str(body(answer)["url"]).rsplit("/", 1)[1]


@pytest.fixture
def uai_stack(device_key: DeviceKey) -> Iterator[LocalStack]:
    with mock_aws(config=MOTO_CONFIG), LocalStack() as local:
        local.provision()
        local.start_invoke_server()
        admin = {"authorization": f"Bearer {local.provisioned.secret_values['AdminSecret']}"}
        uploaded = local.invoke(
            "UaiUploadKeyFunction",
            http_event("PUT", KEY_PATH, body={"publicKey": device_key.public_b64}, headers=admin),
        )
        assert uploaded["statusCode"] == 200
        yield local
