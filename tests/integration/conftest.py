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

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "local-admin-token-for-tests-only"


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
            logical_id=name, name=name, arn=function_arn(name), code_dir=ROOT / "functions" / name,
            handler="app.lambda_handler", timeout_seconds=30, memory_mb=256, environment={},
        )

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.local.invoke(event)  # type: ignore[no-any-return]

    def http(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self(http_event(method, path, **kwargs))


@pytest.fixture
def function() -> Any:
    return Function
