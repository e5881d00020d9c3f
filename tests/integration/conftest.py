"""The integration ring: handlers on moto, with the table built from template.yaml and an admin secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pollgate_local.functions import LocalFunction, function_arn

from tests.aws_fixtures import create_table, http_event
from tests.conftest import DeviceKey
from tests.helpers import iam_guard

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "local-admin-token-for-tests-only"


@pytest.fixture(autouse=True)
def iam(request: pytest.FixtureRequest) -> Iterator[iam_guard.IamGuard | None]:
    """Each handler calls AWS as its function's role (tests/helpers/iam_guard.py): a missing grant fails the test."""
    with iam_guard.enforced(off=request.node.get_closest_marker("no_iam") is not None) as guard:
        yield guard


@pytest.fixture(scope="session", autouse=True)
def iam_report() -> Iterator[None]:
    yield
    iam_guard.write_report()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh moto account with the stack's table and admin secret; functions see them through the environment."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        create_table("pollgate-test")
        monkeypatch.setenv("TABLE_NAME", "pollgate-test")
        arn = boto3.client("secretsmanager").create_secret(Name="pollgate-admin", SecretString=ADMIN_TOKEN)["ARN"]
        monkeypatch.setenv("ADMIN_SECRET_ARN", arn)
        yield


class Function:
    """Calls one function's handler with API Gateway events, as the stack would (the local runtime's loader)."""

    def __init__(self, name: str) -> None:
        self.local = LocalFunction(
            logical_id=name,
            name=name,
            arn=function_arn(name),
            code_dir=ROOT / "functions" / name,
            handler="app.lambda_handler",
            timeout_seconds=30,
            memory_mb=256,
            environment={},
        )

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.local.invoke(event)  # type: ignore[no-any-return]

    def http(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self(http_event(method, path, **kwargs))


@pytest.fixture
def function() -> Any:
    return Function


MISSING_STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:missing"
UAI_KEY_PATH = "/flexnet/operations/api/updates/update-authorization-key"


@pytest.fixture
def uai(aws: None, device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch) -> dict[str, Function]:
    """The UAI functions with the device key uploaded; workflows do not start (the sweeper's business)."""
    monkeypatch.setenv("UAI_STATUS_LOG_STATE_MACHINE_ARN", MISSING_STATE_MACHINE)
    functions = {
        name: Function(f"uai_{name}")
        for name in (
            "submit_status_log",
            "poll_status_log",
            "upload_key",
            "list_keys",
            "revoke_key",
            "status_log_worker",
        )
    }
    uploaded = functions["upload_key"].http(
        "PUT",
        UAI_KEY_PATH,
        body={"publicKey": device_key.public_b64},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert uploaded["statusCode"] == 200
    return functions
