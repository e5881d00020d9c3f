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
_CONNECT_TIMEOUT_SECONDS = 2
_READ_TIMEOUT_SECONDS = 5
_ATTEMPTS = 4  # the first and three retries
_CONFIG = Config(
    connect_timeout=_CONNECT_TIMEOUT_SECONDS,
    read_timeout=_READ_TIMEOUT_SECONDS,
    retries={"total_max_attempts": _ATTEMPTS, "mode": "standard"},
)
# The longest one call can take before it answers or raises: every attempt waiting out both timeouts, and standard
# mode's backoff before each retry (at most 2**n seconds before the n+1-th, n from 0).
LONGEST_CALL_SECONDS: int = _ATTEMPTS * (_CONNECT_TIMEOUT_SECONDS + _READ_TIMEOUT_SECONDS) + sum(
    1 << n for n in range(_ATTEMPTS - 1)
)


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
