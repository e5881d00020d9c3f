"""The life of an asynchronous operation: submit (record Pending, start its workflow), finish once, sweep the stuck.

No operation is left Pending forever: a failed StartExecution makes it due at once, and the sweeper re-drives
each operation whose workflow missed its deadline, up to `MAX_START_ATTEMPTS` starts, then fails it with a reason.
Each kind's deadline is its state machine's TimeoutSeconds, so no workflow still allowed to run is re-driven.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError

from pollgate import aws, clock, items, observability
from pollgate.settings import Settings, get_settings
from pollgate.store import Item, Table, Update, due_partition

logger = Logger(child=True)

OperationStatus = Literal["Pending", "Succeeded", "Failed"]
FinalStatus = Literal["Succeeded", "Failed"]


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
            id=items.operation_id_of(item["pk"]),
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

    def create(self, operation_id: str, workflow: Workflow, tenant: str, work: Mapping[str, Any]) -> Operation:
        settings = get_settings()
        now = clock.epoch()
        due_after = workflow.due_after_seconds(settings)
        # Readable until retention after the latest moment it can finish; then 410 until the TTL deletes it.
        available_until = int(now) + due_after * (settings.max_start_attempts + 1) + settings.result_retention_seconds
        stamp = clock.iso(now)
        key = items.operation(operation_id)
        attributes = {
            "kind": workflow.kind,
            "tenant": tenant,
            "status": "Pending",
            "createdAt": stamp,
            "updatedAt": stamp,
            "work": dict(work),
            "startAttempts": 1,
            "availableUntil": available_until,
            "expiresAt": available_until + settings.tombstone_seconds,
            "duePk": due_partition(items.OPERATION_DUE, operation_id),
            "dueAt": clock.iso(now + due_after),
        }
        if not self.table.put(key, attributes, condition="attribute_not_exists(pk)"):
            raise ValueError(f"operation {operation_id} exists already")
        return Operation.from_item({**attributes, **key.attributes()})

    def get(self, operation_id: str, *, consistent: bool = False) -> Operation | None:
        item = self.table.get(items.operation(operation_id), consistent=consistent)
        return Operation.from_item(item) if item else None

    def for_task(self, operation_id: str, kind: str | None = None) -> Operation:
        """The operation a workflow's task works on, read consistently. LookupError when there is none (of `kind`):
        the task fails, and its state machine's Catch decides what the operation becomes."""
        operation = self.get(operation_id, consistent=True)
        if operation is None or (kind is not None and operation.kind != kind):
            raise LookupError(f"no operation {operation_id}" + (f" of kind {kind}" if kind else ""))
        return operation

    def finish(
        self, operation_id: str, status: FinalStatus, result: Mapping[str, Any], reason: str | None = None
    ) -> bool:
        """Move Pending -> status. False when it had already finished (the first outcome stands)."""
        return self.finish_as(operation_id, status, result, reason) is not None

    def finish_as(
        self, operation_id: str, status: FinalStatus, result: Mapping[str, Any], reason: str | None = None
    ) -> Operation | None:
        """`finish`, answering the operation as it finished (None when it had already finished): no read back."""
        write = self.finish_write(operation_id, status, result, reason)
        finished = self.table.update(
            write.key, write.expression, condition=write.condition, names=write.names, values=write.values
        )
        if finished is None:
            return None
        observability.operation_finished(status, str(finished.get("createdAt", "")))
        return Operation.from_item(finished)

    def finish_write(
        self, operation_id: str, status: FinalStatus, result: Mapping[str, Any], reason: str | None = None
    ) -> Update:
        """The conditional update that finishes an operation, for `finish` or a transaction; once a transaction
        with it commits, count it with `observability.operation_finished` (finish() counts its own)."""
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
        expression = (
            "SET #status = :status, #result = :result, updatedAt = :now, availableUntil = :until, expiresAt = :expires"
        )
        if reason:
            expression += ", #reason = :reason"
            values[":reason"] = reason
        return Update(
            items.operation(operation_id),
            expression + " REMOVE duePk, dueAt",
            condition="#status = :pending",
            names={"#status": "status", "#result": "result", **({"#reason": "reason"} if reason else {})},
            values=values,
        )

    def mark_start_failed(self, operation_id: str) -> None:
        """A StartExecution failed: make the operation due now, so the sweeper re-drives it at once (unless it
        finished meanwhile)."""
        self.table.update_if(
            items.operation(operation_id),
            "SET dueAt = :now",
            condition="#status = :pending",
            names={"#status": "status"},
            values={":now": clock.iso(), ":pending": "Pending"},
        )

    def claim_restart(self, operation: Operation, workflow: Workflow) -> bool:
        """Take one re-drive of a stuck operation; only one sweeper wins each attempt."""
        due = clock.epoch() + workflow.due_after_seconds(get_settings())
        return self.table.update_if(
            items.operation(operation.id),
            "SET startAttempts = :next, dueAt = :due",
            condition="#status = :pending AND startAttempts = :seen",
            names={"#status": "status"},
            values={
                ":next": operation.start_attempts + 1,
                ":seen": operation.start_attempts,
                ":pending": "Pending",
                ":due": clock.iso(due),
            },
        )

    def stuck(self, *, limit: int = 100) -> Iterator[Operation]:
        for key in self.table.due(items.OPERATION_DUE, clock.iso(), limit=limit):
            operation = self.get(items.operation_id_of(key), consistent=True)
            if operation and not operation.finished:
                yield operation


@dataclass(frozen=True)
class Workflow:
    """How operations of one kind are completed, and what a failed one reports."""

    kind: str
    state_machine_arn: Callable[[Settings], str]
    # Its state machine's TimeoutSeconds: no execution of it runs longer.
    deadline_seconds: Callable[[Settings], int]
    failure_result: Callable[[str], dict[str, Any]]
    # What its execution starts with: the polling ID, and whatever lets the state machine choose its path at once.
    execution_input: Callable[[Operation], dict[str, Any]] = lambda operation: {"pollingId": operation.id}

    def due_after_seconds(self, settings: Settings) -> int:
        """How long after an operation's (re)start is recorded the sweeper may call it stuck: the deadline runs from
        the execution's start, which the StartExecution call after the record makes at most that call's longest
        later."""
        return self.deadline_seconds(settings) + aws.LONGEST_CALL_SECONDS


# The workflow of every kind the sweeper may meet: filled by pollgate.registry.register_workflows().
_WORKFLOWS: dict[str, Workflow] = {}


def register_workflow(workflow: Workflow) -> Workflow:
    _WORKFLOWS[workflow.kind] = workflow
    return workflow


def workflow_for(kind: str) -> Workflow:
    try:
        return _WORKFLOWS[kind]
    except KeyError:
        raise LookupError(f"no workflow registered for {kind!r} (pollgate.registry.register_workflows)") from None


def new_polling_id() -> str:
    return str(uuid.uuid4())


def submit_operation(
    workflow: Workflow,
    tenant: str,
    work: Mapping[str, Any],
    store: OperationStore | None = None,
    operation_id: str | None = None,
) -> Operation:
    store = store or OperationStore()
    operation = store.create(operation_id or new_polling_id(), workflow, tenant, work)
    observability.operation_submitted()
    start_workflow(operation, workflow, store)
    return operation


def start_workflow(operation: Operation, workflow: Workflow, store: OperationStore) -> bool:
    """Start the operation's workflow. On failure the operation stays Pending, never lost: due now when nothing
    started, due at its deadline when the execution may be running all the same."""
    arn = workflow.state_machine_arn(get_settings())
    try:
        aws.stepfunctions().start_execution(
            stateMachineArn=arn,
            name=f"{operation.id}-{operation.start_attempts}",
            input=json.dumps(workflow.execution_input(operation)),
        )
    except (ClientError, BotoCoreError) as error:
        if _may_have_started(error):
            logger.warning(
                "workflow start unconfirmed; the sweeper re-drives it after its deadline",
                extra={"pollingId": operation.id, "error": type(error).__name__},
            )
            return False
        logger.warning(
            "workflow did not start; the sweeper will re-drive it",
            extra={"pollingId": operation.id, "error": type(error).__name__},
        )
        try:
            store.mark_start_failed(operation.id)
        except (ClientError, BotoCoreError):
            logger.exception("could not mark the operation due; it is due at its deadline anyway")
        return False
    return True


# Step Functions' own faults: it may have started the execution before failing to answer.
_SERVER_FAULTS = frozenset(
    {"InternalFailure", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException"}
)


def _may_have_started(error: ClientError | BotoCoreError) -> bool:
    """Whether the execution may be running although StartExecution raised: the answer was lost (a read timed out,
    the connection dropped) or AWS failed while handling it. A refusal, throttling or a connection never made
    started nothing."""
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return status >= 500 or error.response.get("Error", {}).get("Code") in _SERVER_FAULTS
    return isinstance(error, ReadTimeoutError | ConnectionClosedError)


@dataclass
class SweepReport:
    restarted: int = 0
    failed: int = 0


def sweep_stuck_operations(store: OperationStore | None = None, *, limit: int = 100) -> SweepReport:
    """Re-drive operations whose workflow missed its deadline; fail those that used every start attempt."""
    store = store or OperationStore()
    settings = get_settings()
    report = SweepReport()
    for operation in store.stuck(limit=limit):
        workflow = workflow_for(operation.kind)
        if operation.start_attempts < settings.max_start_attempts:
            if store.claim_restart(operation, workflow):
                restarted = Operation(**{**operation.__dict__, "start_attempts": operation.start_attempts + 1})
                start_workflow(restarted, workflow, store)
                report.restarted += 1
            continue
        reason = f"workflow did not finish after {operation.start_attempts} attempts"
        if store.finish(operation.id, "Failed", workflow.failure_result(reason), reason):
            logger.error("operation failed by the sweeper", extra={"pollingId": operation.id, "kind": operation.kind})
            report.failed += 1
    return report
