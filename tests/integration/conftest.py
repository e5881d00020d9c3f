"""The integration ring: handlers on moto, with the table built from template.yaml and an admin secret."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.aws_fixtures import LambdaContext, create_table, http_event

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


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py under a module name of its own (every function's module is called app)."""
    module_name = f"pollgate_test_fn_{name}"
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class Function:
    """Calls one function's handler with API Gateway events, as the stack would."""

    def __init__(self, name: str) -> None:
        self.module = load_function(name)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.module.lambda_handler(event, LambdaContext())  # type: ignore[no-any-return]

    def http(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self(http_event(method, path, **kwargs))


@pytest.fixture
def function() -> Any:
    return Function
