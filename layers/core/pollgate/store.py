"""Data access for the single DynamoDB table, and the operation records every face shares.

Item layout (pk / sk strings; see README "Data model"):
- operation        OP#<pollingId> / OP
- due work         the sparse `due` index: duePk = DUE#<category>#<shard>, dueAt = ISO time it is due
- TTL              expiresAt (epoch seconds) removes records for good
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pollgate import aws, clock, observability
from pollgate.settings import get_settings

Item = dict[str, Any]
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

DUE_INDEX = "due"
DUE_SHARDS = 4  # spreads the due-work partition so one hot key never throttles a busy stack


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
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


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def due_partition(category: str, key: str) -> str:
    shard = int(hashlib.sha256(key.encode()).hexdigest(), 16) % DUE_SHARDS
    return f"DUE#{category}#{shard}"


class Table:
    """The few DynamoDB calls pollgate makes, with plain-Python items in and out."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or get_settings().table_name

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> Item | None:
        answer = aws.dynamodb().get_item(
            TableName=self.name, Key=to_attributes({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        return from_attributes(answer["Item"]) if "Item" in answer else None

    def put(self, item: Mapping[str, Any], *, condition: str | None = None, names: Mapping[str, str] | None = None,
            values: Mapping[str, Any] | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_attributes(item)}
        _add_expression(kwargs, condition, names, values)
        aws.dynamodb().put_item(**kwargs)

    def update(self, pk: str, sk: str, expression: str, *, condition: str | None = None,
               names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> Item:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes({"pk": pk, "sk": sk}),
            "UpdateExpression": expression,
            "ReturnValues": "ALL_NEW",
        }
        _add_expression(kwargs, condition, names, values)
        return from_attributes(aws.dynamodb().update_item(**kwargs).get("Attributes", {}))

    def delete(self, pk: str, sk: str, *, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": to_attributes({"pk": pk, "sk": sk})}
        _add_expression(kwargs, condition, None, None)
        aws.dynamodb().delete_item(**kwargs)

    def query(self, pk: str, sk_prefix: str = "", *, consistent: bool = False, limit: int | None = None,
              descending: bool = False) -> Iterator[Item]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :prefix)" if sk_prefix else ""),
            "ExpressionAttributeValues": to_attributes({":pk": pk, **({":prefix": sk_prefix} if sk_prefix else {})}),
            "ConsistentRead": consistent,
            "ScanIndexForward": not descending,
        }
        yield from self._paginate(kwargs, limit)

    def due(self, category: str, until_iso: str, *, limit: int = 100) -> Iterator[tuple[str, str]]:
        """(pk, sk) of items in `category` whose dueAt is at or before `until_iso`, oldest first."""
        for shard in range(DUE_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self.name,
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "duePk = :p AND dueAt <= :until",
                "ExpressionAttributeValues": to_attributes({":p": f"DUE#{category}#{shard}", ":until": until_iso}),
            }
            for item in self._paginate(kwargs, limit):
                yield item["pk"], item["sk"]

    def transact(self, *operations: Mapping[str, Any]) -> None:
        aws.dynamodb().transact_write_items(TransactItems=[dict(op) for op in operations])  # type: ignore[misc]

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


def _add_expression(kwargs: dict[str, Any], condition: str | None, names: Mapping[str, str] | None,
                    values: Mapping[str, Any] | None) -> None:
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = dict(names)
    if values:
        kwargs["ExpressionAttributeValues"] = to_attributes(values)


# ---------------------------------------------------------------------------------------------- operations

OperationStatus = Literal["Pending", "Succeeded", "Failed"]
OPERATION_DUE = "OP"


@dataclass(frozen=True)
class Operation:
    """One unit of asynchronous work behind a polling ID."""

    id: str
    kind: str
    tenant: str
    status: OperationStatus
    created_at: str
    updated_at: str
    available_until: int
    work: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    reason: str | None = None
    start_attempts: int = 0

    @property
    def finished(self) -> bool:
        return self.status != "Pending"

    @classmethod
    def from_item(cls, item: Item) -> Operation:
        return cls(
            id=item["pk"].removeprefix("OP#"),
            kind=item["kind"],
            tenant=item.get("tenant", ""),
            status=item["status"],
            created_at=item["createdAt"],
            updated_at=str(item.get("updatedAt", item["createdAt"])),
            available_until=int(item.get("availableUntil", 0)),
            work=item.get("work", {}),
            result=item.get("result"),
            reason=item.get("reason"),
            start_attempts=int(item.get("startAttempts", 0)),
        )


class OperationStore:
    """Operation records: created Pending, then moved to Succeeded or Failed exactly once by conditional writes."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def create(self, operation_id: str, kind: str, tenant: str, work: Mapping[str, Any]) -> Operation:
        settings = get_settings()
        now = clock.epoch()
        # Readable until retention after the latest moment it can finish; then 410 until the TTL deletes it.
        available_until = int(now) + settings.workflow_deadline_seconds * (settings.max_start_attempts + 1) \
            + settings.result_retention_seconds
        stamp = clock.iso(now)
        item = {
            "pk": f"OP#{operation_id}",
            "sk": "OP",
            "kind": kind,
            "tenant": tenant,
            "status": "Pending",
            "createdAt": stamp,
            "updatedAt": stamp,
            "work": dict(work),
            "startAttempts": 1,
            "availableUntil": available_until,
            "expiresAt": available_until + settings.tombstone_seconds,
            "duePk": due_partition(OPERATION_DUE, operation_id),
            "dueAt": clock.iso(now + settings.workflow_deadline_seconds),
        }
        self.table.put(item, condition="attribute_not_exists(pk)")
        return Operation.from_item(item)

    def get(self, operation_id: str, *, consistent: bool = False) -> Operation | None:
        item = self.table.get(f"OP#{operation_id}", "OP", consistent=consistent)
        return Operation.from_item(item) if item else None

    def finish(self, operation_id: str, status: Literal["Succeeded", "Failed"], result: Mapping[str, Any],
               reason: str | None = None) -> bool:
        """Move Pending -> status. False when it had already finished (the first outcome stands)."""
        try:
            finished = self.table.update(f"OP#{operation_id}", "OP", **self.finish_update(status, result, reason))
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        observability.operation_finished(status, str(finished.get("createdAt", "")))
        return True

    def finish_update(self, status: Literal["Succeeded", "Failed"], result: Mapping[str, Any],
                      reason: str | None = None) -> dict[str, Any]:
        """The conditional update that finishes an operation, for use alone or inside a transaction."""
        settings = get_settings()
        now = clock.epoch()
        available_until = int(now) + settings.result_retention_seconds
        values: dict[str, Any] = {
            ":status": status,
            ":pending": "Pending",
            ":result": dict(result),
            ":now": clock.iso(now),
            ":until": available_until,
            ":expires": available_until + settings.tombstone_seconds,
        }
        expression = ("SET #status = :status, #result = :result, updatedAt = :now, availableUntil = :until, "
                      "expiresAt = :expires")
        if reason:
            expression += ", #reason = :reason"
            values[":reason"] = reason
        return {
            "expression": expression + " REMOVE duePk, dueAt",
            "condition": "#status = :pending",
            "names": {"#status": "status", "#result": "result", **({"#reason": "reason"} if reason else {})},
            "values": values,
        }

    def finish_transact_item(self, operation_id: str, status: Literal["Succeeded", "Failed"],
                             result: Mapping[str, Any], reason: str | None = None) -> dict[str, Any]:
        """The finish as a transaction item; once the transaction commits, count it with
        `observability.operation_finished` (finish() counts its own)."""
        update = self.finish_update(status, result, reason)
        return {
            "Update": {
                "TableName": self.table.name,
                "Key": to_attributes({"pk": f"OP#{operation_id}", "sk": "OP"}),
                "UpdateExpression": update["expression"],
                "ConditionExpression": update["condition"],
                "ExpressionAttributeNames": update["names"],
                "ExpressionAttributeValues": to_attributes(update["values"]),
            }
        }

    def mark_start_failed(self, operation_id: str) -> None:
        """A StartExecution failed: make the operation due now, so the sweeper re-drives it at once."""
        try:
            self.table.update(
                f"OP#{operation_id}", "OP", "SET dueAt = :now",
                condition="#status = :pending", names={"#status": "status"},
                values={":now": clock.iso(), ":pending": "Pending"},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def claim_restart(self, operation: Operation) -> bool:
        """Take one re-drive of a stuck operation; only one sweeper wins each attempt."""
        settings = get_settings()
        try:
            self.table.update(
                f"OP#{operation.id}", "OP", "SET startAttempts = :next, dueAt = :due",
                condition="#status = :pending AND startAttempts = :seen",
                names={"#status": "status"},
                values={":next": operation.start_attempts + 1, ":seen": operation.start_attempts,
                        ":pending": "Pending", ":due": clock.iso(clock.epoch() + settings.workflow_deadline_seconds)},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def stuck(self, *, limit: int = 100) -> Iterator[Operation]:
        for pk, _sk in self.table.due(OPERATION_DUE, clock.iso(), limit=limit):
            operation = self.get(pk.removeprefix("OP#"), consistent=True)
            if operation and not operation.finished:
                yield operation
