"""boto3 clients, created once per process and reused across warm invocations.

Endpoints come from the standard variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), which is how the
local runtime and `sam local` point the same code at moto.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_stepfunctions import SFNClient

# Fail fast and let the caller decide: a Lambda has seconds, not minutes, to answer.
_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    return client("dynamodb")  # type: ignore[no-any-return]


def stepfunctions() -> SFNClient:
    return client("stepfunctions")  # type: ignore[no-any-return]


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh moto per test)."""
    client.cache_clear()
