"""The only way to the table: plain-Python items in and out, and answers in the domain's terms.

- A conditional write answers whether its condition held (`put`, `update_if`, `delete` return a bool, `update`
  returns the item or None); no caller ever inspects a botocore error code.
- A transaction that DynamoDB cancels raises one `TransactionCancelled`, which says why each of its writes was
  refused.
- Batch reads and writes retry what DynamoDB left unprocessed, with bounded exponential backoff; what is still
  unprocessed after that raises `BatchIncomplete` (a transient failure: the caller may retry).

Keys are built in the `items` modules (pollgate/items.py for what the faces share, one per face), never inline.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, overload

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pollgate import aws
from pollgate.settings import get_settings

Item = dict[str, Any]
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# The sparse index of work that falls due (see pollgate/items.py): duePk = DUE#<category>#<shard>, dueAt = ISO time.
DUE_INDEX = "due"
DUE_SHARDS = 4  # spreads the due-work partition so one hot key never throttles a busy stack

# DynamoDB's own limits per call.
BATCH_WRITE_SIZE = 25
BATCH_GET_SIZE = 100
# Unprocessed items are sent again at most this many times, after a wait that doubles from the first (with full
# jitter, as AWS advises), capped: at most ~2.6 s in all, well inside a function's timeout.
BATCH_ROUNDS = 8
BATCH_FIRST_WAIT_SECONDS = 0.025
BATCH_MAX_WAIT_SECONDS = 1.0


def due_partition(category: str, key: str) -> str:
    """The due-index partition (duePk) of the item named `key` (its id) in `category`."""
    return _due_shard(category, int(hashlib.sha256(key.encode()).hexdigest(), 16) % DUE_SHARDS)


def _due_shard(category: str, shard: int) -> str:
    return f"DUE#{category}#{shard}"


class Key(NamedTuple):
    """An item's primary key."""

    pk: str
    sk: str

    def attributes(self) -> dict[str, str]:
        return {"pk": self.pk, "sk": self.sk}


@dataclass(frozen=True)
class Put:
    """A write of a transaction: the whole item, if `condition` holds."""

    key: Key
    attributes: Mapping[str, Any]
    condition: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Update:
    key: Key
    expression: str
    condition: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Delete:
    key: Key
    condition: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None


Write = Put | Update | Delete

CONDITION_FAILED = "ConditionalCheckFailed"


class TransactionCancelled(Exception):
    """DynamoDB cancelled a transaction: nothing was written. `reasons[i]` says why of `writes[i]`: "None" for a
    write that was fine, "ConditionalCheckFailed" for one whose condition did not hold, else DynamoDB's code
    ("TransactionConflict", "ThrottlingError", ...)."""

    def __init__(self, writes: Sequence[Write], reasons: Sequence[str]) -> None:
        super().__init__(", ".join(reasons))
        self.writes = list(writes)
        self.reasons = list(reasons)

    def condition_failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == CONDITION_FAILED

    @property
    def refused(self) -> list[Write]:
        """The writes whose condition did not hold."""
        return [write for index, write in enumerate(self.writes) if self.condition_failed(index)]


class BatchIncomplete(Exception):
    """DynamoDB still left part of a batch unprocessed after every retry (throttled): the caller may retry."""


def connect() -> None:
    """Make the DynamoDB client now: boto3 creates clients unsafely across threads, so code that fans out onto
    threads (the webhook consumer) connects first."""
    aws.dynamodb()


class Table:
    """The few DynamoDB calls pollgate makes."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or get_settings().table_name

    def get(self, key: Key, *, consistent: bool = False) -> Item | None:
        answer = aws.dynamodb().get_item(
            TableName=self.name, Key=to_attributes(key.attributes()), ConsistentRead=consistent
        )
        return from_attributes(answer["Item"]) if "Item" in answer else None

    def get_many(self, keys: Sequence[Key], *, consistent: bool = False) -> list[Item]:
        """The items that exist of `keys` (BatchGetItem, in DynamoDB's order: callers that care sort them)."""
        found: list[Item] = []
        for start in range(0, len(keys), BATCH_GET_SIZE):
            page = [to_attributes(key.attributes()) for key in keys[start : start + BATCH_GET_SIZE]]
            pending: dict[str, Any] = {self.name: {"Keys": page, "ConsistentRead": consistent}}

            def send(request: dict[str, Any]) -> dict[str, Any]:
                answer = aws.dynamodb().batch_get_item(RequestItems=request)
                found.extend(from_attributes(raw) for raw in answer.get("Responses", {}).get(self.name, []))
                return dict(answer.get("UnprocessedKeys") or {})

            _until_processed(send, pending)
        return found

    def put(
        self,
        key: Key,
        attributes: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write the whole item; False when `condition` did not hold (nothing written)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_attributes({**attributes, **key.attributes()})}
        _add_expression(kwargs, condition, names, values)
        return _unless_condition_fails(lambda: aws.dynamodb().put_item(**kwargs)) is not None

    @overload
    def update(
        self,
        key: Key,
        expression: str,
        *,
        condition: None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Item: ...

    @overload
    def update(
        self,
        key: Key,
        expression: str,
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Item | None: ...

    def update(
        self,
        key: Key,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Item | None:
        """The item as the update left it; None when `condition` did not hold (nothing written)."""
        kwargs = self._update_call(key, expression, condition, names, values, returning="ALL_NEW")
        answer = _unless_condition_fails(lambda: aws.dynamodb().update_item(**kwargs))
        return None if answer is None else from_attributes(answer.get("Attributes", {}))

    def update_if(
        self,
        key: Key,
        expression: str,
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether `condition` held and the update was made; reads nothing back (the smallest answer)."""
        kwargs = self._update_call(key, expression, condition, names, values, returning="NONE")
        return _unless_condition_fails(lambda: aws.dynamodb().update_item(**kwargs)) is not None

    def delete(
        self,
        key: Key,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """False when `condition` did not hold (nothing deleted)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": to_attributes(key.attributes())}
        _add_expression(kwargs, condition, names, values)
        return _unless_condition_fails(lambda: aws.dynamodb().delete_item(**kwargs)) is not None

    def query(
        self,
        pk: str,
        sk_prefix: str = "",
        *,
        consistent: bool = False,
        limit: int | None = None,
        descending: bool = False,
        start_at: str | None = None,
    ) -> Iterator[Item]:
        """The partition's items whose sk begins with `sk_prefix`, in sk order; with `start_at` (an sk with that
        prefix), only it and those after it, ascending (a page that goes on where the last one ended)."""
        if start_at is not None:
            kwargs: dict[str, Any] = {
                "TableName": self.name,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :end",
                "ExpressionAttributeValues": to_attributes(
                    {":pk": pk, ":start": start_at, ":end": sk_prefix + "\U0010ffff"}
                ),
                "ConsistentRead": consistent,
            }
            yield from self._paginate(kwargs, limit)
            return
        kwargs = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :prefix)" if sk_prefix else ""),
            "ExpressionAttributeValues": to_attributes({":pk": pk, **({":prefix": sk_prefix} if sk_prefix else {})}),
            "ConsistentRead": consistent,
            "ScanIndexForward": not descending,
        }
        yield from self._paginate(kwargs, limit)

    def due(self, category: str, until_iso: str, *, limit: int = 100) -> Iterator[Key]:
        """Keys of the items in `category` whose dueAt is at or before `until_iso`, oldest first per shard."""
        for shard in range(DUE_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self.name,
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "duePk = :p AND dueAt <= :until",
                "ExpressionAttributeValues": to_attributes({":p": _due_shard(category, shard), ":until": until_iso}),
            }
            for item in self._paginate(kwargs, limit):
                yield Key(item["pk"], item["sk"])

    def transact(self, *writes: Write) -> None:
        """All of `writes` or none; raises TransactionCancelled (with each write's reason) when DynamoDB refuses."""
        try:
            aws.dynamodb().transact_write_items(TransactItems=[self._transact_item(w) for w in writes])  # type: ignore[misc]
        except ClientError as error:
            if _error_code(error) != "TransactionCanceledException":
                raise
            reasons = [str(reason.get("Code", "None")) for reason in error.response.get("CancellationReasons", [])]
            raise TransactionCancelled(writes, reasons) from error

    def write_batch(self, puts: Iterable[tuple[Key, Mapping[str, Any]]] = (), deletes: Iterable[Key] = ()) -> None:
        """Unconditional puts and deletes, 25 a call (BatchWriteItem); not atomic: a failure may leave a part."""
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": to_attributes({**attributes, **key.attributes()})}} for key, attributes in puts
        ]
        requests += [{"DeleteRequest": {"Key": to_attributes(key.attributes())}} for key in deletes]
        for start in range(0, len(requests), BATCH_WRITE_SIZE):

            def send(request: dict[str, Any]) -> dict[str, Any]:
                answer = aws.dynamodb().batch_write_item(RequestItems=request)
                return dict(answer.get("UnprocessedItems") or {})

            _until_processed(send, {self.name: requests[start : start + BATCH_WRITE_SIZE]})

    def _update_call(
        self,
        key: Key,
        expression: str,
        condition: str | None,
        names: Mapping[str, str] | None,
        values: Mapping[str, Any] | None,
        *,
        returning: str,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(key.attributes()),
            "UpdateExpression": expression,
            "ReturnValues": returning,
        }
        _add_expression(kwargs, condition, names, values)
        return kwargs

    def _transact_item(self, write: Write) -> dict[str, Any]:
        call: dict[str, Any] = {"TableName": self.name}
        if isinstance(write, Put):
            call["Item"] = to_attributes({**write.attributes, **write.key.attributes()})
        else:
            call["Key"] = to_attributes(write.key.attributes())
        if isinstance(write, Update):
            call["UpdateExpression"] = write.expression
        _add_expression(call, write.condition, write.names, write.values)
        return {type(write).__name__: call}

    def _paginate(self, kwargs: dict[str, Any], limit: int | None) -> Iterator[Item]:
        seen = 0
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - seen
            answer = aws.dynamodb().query(**kwargs)
            for raw in answer.get("Items", []):
                seen += 1
                yield from_attributes(raw)
            if "LastEvaluatedKey" not in answer or (limit is not None and seen >= limit):
                return
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _add_expression(
    kwargs: dict[str, Any], condition: str | None, names: Mapping[str, str] | None, values: Mapping[str, Any] | None
) -> None:
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = dict(names)
    if values:
        kwargs["ExpressionAttributeValues"] = to_attributes(values)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _unless_condition_fails(call: Any) -> dict[str, Any] | None:
    """The call's answer; None when DynamoDB refused it because its condition did not hold."""
    try:
        return dict(call())
    except ClientError as error:
        if _error_code(error) == "ConditionalCheckFailedException":
            return None
        raise


def _until_processed(send: Any, request: dict[str, Any]) -> None:
    """Send a batch request and what DynamoDB leaves unprocessed of it again, waiting longer each round."""
    wait = BATCH_FIRST_WAIT_SECONDS
    for round_ in range(BATCH_ROUNDS):
        request = send(request)
        if not request:
            return
        if round_ + 1 < BATCH_ROUNDS:
            time.sleep(random.uniform(0, wait))  # noqa: S311 - jitter, not a secret
            wait = min(wait * 2, BATCH_MAX_WAIT_SECONDS)
    raise BatchIncomplete(f"part of a batch was still unprocessed after {BATCH_ROUNDS} rounds")


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain-Python item as DynamoDB's attribute values (None values left out, floats as Decimal)."""
    return {k: _serializer.serialize(_plain_to_dynamo(v)) for k, v in item.items() if v is not None}


def from_attributes(attributes: Mapping[str, Any]) -> Item:
    return {k: _dynamo_to_plain(_deserializer.deserialize(v)) for k, v in attributes.items()}


def _plain_to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain_to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_to_dynamo(v) for v in value]
    return value


def _dynamo_to_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _dynamo_to_plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_dynamo_to_plain(v) for v in value]
    return value
