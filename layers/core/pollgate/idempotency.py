"""`Idempotency-Key` for every POST that starts work (Powertools idempotency, in the single table).

The same key with the same body answers what the first request answered (the same polling ID), without
starting the work twice; the same key with another body is refused. Keys are scoped by the caller (a face
passes its tenant or device), so two clients choosing the same key never see each other's answer.
Records live in the table (pollgate/items.py) and expire (TTL `expiresAt`) after 24 hours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pollgate import aws, items
from pollgate.settings import get_settings

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
KEY_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IdempotentRequest:
    """The client's Idempotency-Key, and the Lambda context whose deadline bounds an in-progress claim (a
    request that dies mid-way must not block its retries until the key expires)."""

    key: str
    lambda_context: Any = None


class IdempotencyRefused(Exception):
    """The request was not run: its Idempotency-Key refused it (each face answers these in its own shape)."""


class IdempotencyKeyInvalid(IdempotencyRefused):
    """The header is empty, too long or not printable ASCII."""


class IdempotencyKeyReused(IdempotencyRefused):
    """The key was used before with a different body."""


class IdempotencyInProgress(IdempotencyRefused):
    """A request with the same key is still being processed; retry shortly."""


def run_once(
    kind: str,
    scope: str,
    request: IdempotentRequest | None,
    payload: Mapping[str, Any],
    action: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run `action` once per (kind, scope, key); with no key, just run it."""
    if request is None:
        return action()
    key = request.key
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise IdempotencyKeyInvalid(key[:40])
    from aws_lambda_powertools.utilities.idempotency import (  # only requests with the header pay for this
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=items.idempotency_partition(kind),
        expiry_attr="expiresAt",
        # The one client the store does not own: Powertools' persistence layer makes its own calls.
        boto3_client=aws.dynamodb(),
    )
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        expires_after_seconds=KEY_LIFETIME_SECONDS,
        use_local_cache=False,
    )
    if request.lambda_context is not None:
        config.register_lambda_context(request.lambda_context)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,  # type: ignore[untyped-decorator]
        config=config,
    )
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return action()

    scoped = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
    try:
        return once(request={"key": scoped, "body": dict(payload)})  # type: ignore[no-any-return]
    except IdempotencyValidationError:
        raise IdempotencyKeyReused(key[:40]) from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyInProgress(key[:40]) from None
