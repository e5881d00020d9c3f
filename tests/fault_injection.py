"""Make chosen AWS calls fail the way AWS fails: throttled, unavailable, unreachable, or done but unanswered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from pollgate import aws

THROTTLED = "ProvisionedThroughputExceededException"
UNAVAILABLE = "ServiceUnavailable"
# The call reaches AWS and takes effect, but its answer never comes back (the caller times out).
ANSWER_LOST = "answer lost"


class FaultyClient:
    """A boto3 client whose named operations fail `times` times (or always) before behaving."""

    def __init__(self, real: Any, faults: dict[str, tuple[str, int | None]]) -> None:
        self._real = real
        self._faults = faults
        self._lock = threading.Lock()
        self.failures: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._real, name)
        if name not in self._faults:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                code, remaining = self._faults[name]
                failing = remaining is None or remaining > 0
                if failing and remaining is not None:
                    self._faults[name] = (code, remaining - 1)
                if failing:
                    self.failures.append(name)
            if failing:
                if code == ANSWER_LOST:
                    target(*args, **kwargs)
                    raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
                if code == "unreachable":
                    raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
                raise ClientError({"Error": {"Code": code, "Message": "injected"}}, name)
            return target(*args, **kwargs)

        return call


@contextmanager
def failing(monkeypatch: pytest.MonkeyPatch, service: str, **faults: tuple[str, int | None]) -> Iterator[FaultyClient]:
    """`failing(mp, "dynamodb", put_item=(THROTTLED, None))`: every PutItem is throttled until the block ends."""
    real = aws.client(service)
    faulty = FaultyClient(real, dict(faults))
    original = aws.client

    def patched(name: str) -> Any:
        return faulty if name == service else original(name)

    monkeypatch.setattr(aws, "client", patched)
    try:
        yield faulty
    finally:
        monkeypatch.setattr(aws, "client", original)


def serialise_dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """One DynamoDB call at a time, as DynamoDB applies each request to an item atomically; moto's in-memory
    tables do not (a transaction deep-copies a table while another thread writes it). Races between separate
    calls, the ones our conditional writes must survive, stay possible."""
    lock = threading.Lock()
    client = aws.dynamodb()

    def locked(call: Any) -> Any:
        def under_lock(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return call(*args, **kwargs)

        return under_lock

    for name in ("get_item", "put_item", "update_item", "delete_item", "transact_write_items", "query"):
        monkeypatch.setattr(client, name, locked(getattr(client, name)))
