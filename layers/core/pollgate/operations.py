"""The life of an asynchronous operation: submit (record Pending, start its workflow), finish once, sweep the stuck.

No operation is left Pending forever: a failed StartExecution makes it due at once, and the sweeper re-drives
each operation whose workflow missed its deadline, up to `MAX_START_ATTEMPTS` starts, then fails it with a reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pollgate import aws, observability
from pollgate.settings import Settings, get_settings
from pollgate.store import Operation, OperationStore

logger = Logger(child=True)


@dataclass(frozen=True)
class Workflow:
    """How operations of one kind are completed, and what a failed one reports."""

    kind: str
    state_machine_arn: Callable[[Settings], str]
    failure_result: Callable[[str], dict[str, Any]]


_WORKFLOWS: dict[str, Workflow] = {}


def register_workflow(workflow: Workflow) -> Workflow:
    _WORKFLOWS[workflow.kind] = workflow
    return workflow


def workflow_for(kind: str) -> Workflow:
    return _WORKFLOWS[kind]


def new_polling_id() -> str:
    return str(uuid.uuid4())


def submit_operation(kind: str, tenant: str, work: Mapping[str, Any], store: OperationStore | None = None,
                     operation_id: str | None = None) -> Operation:
    store = store or OperationStore()
    operation = store.create(operation_id or new_polling_id(), kind, tenant, work)
    observability.operation_submitted()
    start_workflow(operation, store)
    return operation


def start_workflow(operation: Operation, store: OperationStore) -> bool:
    """Start the operation's workflow. On failure the operation stays Pending and due now, never lost."""
    arn = workflow_for(operation.kind).state_machine_arn(get_settings())
    try:
        aws.stepfunctions().start_execution(
            stateMachineArn=arn,
            name=f"{operation.id}-{operation.start_attempts}",
            input=json.dumps({"pollingId": operation.id}),
        )
    except (ClientError, BotoCoreError) as error:
        logger.warning("workflow did not start; the sweeper will re-drive it",
                       extra={"pollingId": operation.id, "error": type(error).__name__})
        try:
            store.mark_start_failed(operation.id)
        except (ClientError, BotoCoreError):
            logger.exception("could not mark the operation due; it is due at its deadline anyway")
        return False
    return True


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
        if operation.start_attempts < settings.max_start_attempts:
            if store.claim_restart(operation):
                restarted = Operation(**{**operation.__dict__, "start_attempts": operation.start_attempts + 1})
                start_workflow(restarted, store)
                report.restarted += 1
            continue
        reason = f"workflow did not finish after {operation.start_attempts} attempts"
        if store.finish(operation.id, "Failed", workflow_for(operation.kind).failure_result(reason), reason):
            logger.error("operation failed by the sweeper", extra={"pollingId": operation.id, "kind": operation.kind})
            report.failed += 1
    return report
