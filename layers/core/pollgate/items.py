"""The items the faces share in the one table, and every key they are found by (each face's own items are in its
`items` module: pollgate/uai/items.py, pollgate/densify/items.py, pollgate/thingspace/items.py).

- operation    OP#<pollingId> / OP                                          store.OperationStore
- delivery     WEBHOOK#<ownerKind>#<tenant>#<ownerId> / DELIVERY#<deliveryId>             webhooks.store
  its content  WEBHOOK#<ownerKind>#<tenant>#<ownerId> / DELIVERY#<deliveryId>#CONTENT
  an attempt   WEBHOOK#<ownerKind>#<tenant>#<ownerId> / ATTEMPT#<at ISO>#<deliveryId>#<attempt>  (sorts by time)
- idempotency  IDEMPOTENCY#<kind> / <sha256 of the caller's scope and key>  Powertools' idempotency layer
- due work     the sparse index `due`: duePk = DUE#<category>#<shard>, dueAt = the ISO time it is due;
               categories OP (operations past their deadline), WEBHOOK (deliveries), DENSIFY (subscription pushes)
- TTL          expiresAt (epoch seconds) removes an item for good
"""

from __future__ import annotations

from pollgate.store import Key

OPERATION_PREFIX = "OP#"
OPERATION_SK = "OP"

# Categories of the due index (store.due_partition, Table.due).
OPERATION_DUE = "OP"
WEBHOOK_DUE = "WEBHOOK"

WEBHOOK_PREFIX = "WEBHOOK#"
DELIVERY_PREFIX = "DELIVERY#"
CONTENT_SUFFIX = "#CONTENT"
ATTEMPT_PREFIX = "ATTEMPT#"

IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"


def operation(operation_id: str) -> Key:
    return Key(f"{OPERATION_PREFIX}{operation_id}", OPERATION_SK)


def operation_id_of(key: Key | str) -> str:
    """The polling ID in an operation's key (or its pk)."""
    return (key.pk if isinstance(key, Key) else key).removeprefix(OPERATION_PREFIX)


def idempotency_partition(kind: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{kind}"


def webhook_owner(owner_kind: str, tenant: str, owner_id: str) -> str:
    """The partition of one owner's deliveries and attempts (one query lists them)."""
    if "#" in owner_kind or "#" in tenant:
        raise ValueError("owner_kind and tenant may not contain '#'")
    return f"{WEBHOOK_PREFIX}{owner_kind}#{tenant}#{owner_id}"


def delivery(owner: str, delivery_id: str) -> Key:
    return Key(owner, f"{DELIVERY_PREFIX}{delivery_id}")


def delivery_content(owner: str, delivery_id: str) -> Key:
    return Key(owner, f"{DELIVERY_PREFIX}{delivery_id}{CONTENT_SUFFIX}")


def delivery_attempt(owner: str, at: str, delivery_id: str, attempt: int) -> Key:
    return Key(owner, f"{ATTEMPT_PREFIX}{at}#{delivery_id}#{attempt:03d}")


def delivery_of(key: Key) -> tuple[str, str, str, str]:
    """(owner kind, tenant, owner id, delivery id) of a delivery's key."""
    _, owner_kind, tenant, owner_id = key.pk.split("#", 3)
    return owner_kind, tenant, owner_id, key.sk.removeprefix(DELIVERY_PREFIX)
