"""Recovery after an outage: re-send every delivery of one owner (a subscription's webhook, a listener) that failed
for good between two times, as a pollgate operation of its own.

The face submits it (`submit_recovery`: 202, a polling URL, Retry-After); the WebhookRecovery workflow's task
(`run_recovery`) finds the deliveries through the owner's attempt records (sorted by time: one query from the end
of the window back to its start), re-sends each once with its original `webhook-id`, and finishes the operation
with the count re-sent. The re-sends' ids are derived from the operation and the delivery, so a task Step
Functions runs again re-sends nothing twice.

"Failed for good": its final attempt, made within the window, did not succeed (a 410, a refused URL and a
disabled endpoint included: re-enable the endpoint first, or its re-sends fail the same way).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from pollgate import clock, items
from pollgate.errors import Invalid
from pollgate.operations import Operation, OperationStore, Workflow, submit_operation
from pollgate.webhooks.engine import TEST_EVENT_SUFFIX, DeliveryNotFound, resend_delivery
from pollgate.webhooks.store import DeliveryExists, DeliveryStore

logger = Logger(child=True)

KIND = "webhooks.recovery"
# At most this many deliveries are re-sent by one recovery (inside the task's timeout; a month of nightly pushes fits).
MAX_RESENT = 500
# How far back a recovery may reach: the attempt records are kept 30 days.
MAX_WINDOW_SECONDS = 30 * 86_400

WORKFLOW = Workflow(
    kind=KIND,
    state_machine_arn=lambda settings: settings.webhook_recovery_state_machine_arn,
    deadline_seconds=lambda settings: settings.webhook_recovery_deadline_seconds,
    failure_result=lambda reason: {"resent": 0, "error": reason},
)


@dataclass(frozen=True)
class Window:
    since: str  # ISO 8601, UTC, as the attempt records have it
    until: str

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Window:
        """From the request's `since` (required) and `until` (default: now); raises Invalid naming the field."""
        start = _instant("since", since)
        end = _instant("until", until) if until else clock.epoch()
        if end < start:
            raise Invalid("until must not be before since.")
        if clock.epoch() - start > MAX_WINDOW_SECONDS:
            raise Invalid("since must be within the last 30 days (attempt records are kept 30 days).")
        return cls(clock.iso(start), clock.iso(end))


def _instant(field: str, text: str | None) -> float:
    if not text:
        raise Invalid(f"{field} is required: an ISO 8601 time, e.g. 2026-12-01T00:00:00Z.")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{field} is not an ISO 8601 time: {text[:64]}.") from None
    if when.tzinfo is None:
        raise Invalid(f"{field} must carry a time zone (e.g. Z).")
    return when.timestamp()


def submit_recovery(
    owner_kind: str, tenant: str, owner_id: str, window: Window, store: OperationStore | None = None
) -> Operation:
    work = {
        "ownerKind": owner_kind,
        "tenant": tenant,
        "ownerId": owner_id,
        "since": window.since,
        "until": window.until,
    }
    return submit_operation(WORKFLOW, tenant, work, store)


def recovery_of(
    polling_id: str, owner_kind: str, tenant: str, owner_id: str, store: OperationStore | None = None
) -> Operation | None:
    """The recovery with that id of this owner (None for an unknown id, or another owner's)."""
    if not 0 < len(polling_id) <= 64 or not all(c.isalnum() or c == "-" for c in polling_id):
        return None
    operation = (store or OperationStore()).get(polling_id)
    if operation is None or operation.kind != KIND:
        return None
    work = operation.work
    if (work.get("ownerKind"), work.get("tenant"), work.get("ownerId")) != (owner_kind, tenant, owner_id):
        return None
    return operation


def failed_for_good(
    owner_kind: str, tenant: str, owner_id: str, window: Window, store: DeliveryStore | None = None
) -> list[str]:
    """The ids of the owner's deliveries whose final attempt, made within the window, failed; oldest first."""
    store = store or DeliveryStore()
    # By webhook-id: a message whose re-send succeeded is not re-sent again, and one re-sent and failed again is
    # re-sent once (its latest delivery).
    succeeded: set[str] = set()
    failed: dict[str, str] = {}  # webhook-id -> its latest delivery that failed for good, newest first
    start, end = f"{items.ATTEMPT_PREFIX}{window.since}", f"{items.ATTEMPT_PREFIX}{window.until}\uffff"
    for item in store.table.query(
        items.webhook_owner(owner_kind, tenant, owner_id), items.ATTEMPT_PREFIX, descending=True
    ):
        if item["sk"] > end:
            continue
        if item["sk"] < start:
            break  # sorted by time: nothing older is in the window
        if str(item.get("eventType", "")).endswith(TEST_EVENT_SUFFIX):
            continue  # a test event is not something the receiver missed
        delivery_id = str(item["deliveryId"])
        message = str(item.get("webhookId") or delivery_id)
        status = item.get("statusCode")
        if status is not None and 200 <= int(status) < 300 and not item.get("error"):
            succeeded.add(message)
        elif item.get("final") and message not in succeeded:
            failed.setdefault(message, delivery_id)
    return [delivery_id for message, delivery_id in reversed(failed.items()) if message not in succeeded][:MAX_RESENT]


def resend_id(polling_id: str, delivery_id: str) -> str:
    """The re-send's delivery id: the same for the same recovery and delivery, so a retried task adds none."""
    return "msg_" + hashlib.sha256(f"{polling_id}\n{delivery_id}".encode()).hexdigest()[:32]


def run_recovery(polling_id: str, store: OperationStore | None = None, deliveries: DeliveryStore | None = None) -> str:
    """The workflow's task: re-send what failed for good in the window, once, then finish with the count."""
    store = store or OperationStore()
    operation = store.for_task(polling_id)
    if operation.finished:
        return operation.status
    work: dict[str, Any] = operation.work
    owner_kind, tenant, owner_id = str(work["ownerKind"]), str(work["tenant"]), str(work["ownerId"])
    deliveries = deliveries or DeliveryStore(store.table)
    resent: list[str] = []
    for delivery_id in failed_for_good(owner_kind, tenant, owner_id, Window(work["since"], work["until"]), deliveries):
        new_id = resend_id(polling_id, delivery_id)
        try:
            resend_delivery(owner_kind, owner_id, tenant, delivery_id, deliveries, new_id=new_id)
        except DeliveryExists:
            pass  # re-sent by an earlier run of this task
        except DeliveryNotFound:
            logger.warning("a failed delivery expired before it could be re-sent", extra={"deliveryId": delivery_id})
            continue
        resent.append(new_id)
    store.finish(polling_id, "Succeeded", {"resent": len(resent), "deliveryIds": resent})
    logger.info("webhook recovery finished", extra={"pollingId": polling_id, "resent": len(resent)})
    final = store.get(polling_id, consistent=True)
    return final.status if final else "Failed"


def view(operation: Operation) -> dict[str, Any]:
    """A recovery as the faces show it (webhooks.models.RecoveryView)."""
    result = operation.result or {}
    return {
        "recoveryId": operation.id,
        "status": operation.status,
        "since": operation.work.get("since"),
        "until": operation.work.get("until"),
        "resent": result.get("resent"),
        "deliveryIds": result.get("deliveryIds"),
        "error": result.get("error") or operation.reason,
    }
