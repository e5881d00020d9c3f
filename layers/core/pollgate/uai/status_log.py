"""The status log: accept a report (202 + polling URL), answer polls, and record reports in the device history."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pollgate import clock, observability
from pollgate.errors import Expired, Invalid, NotFound
from pollgate.idempotency import IdempotentRequest, run_once
from pollgate.operations import OperationStore, submit_operation
from pollgate.store import Key, Put, Table, TransactionCancelled
from pollgate.uai import items, messages
from pollgate.uai.auth import DeviceToken
from pollgate.uai.keys import KeyStore
from pollgate.uai.models import StatusLogRequest
from pollgate.uai.workflow import KIND, WORKFLOW

TENANT = "uai"
STATUS_LOG_PATH = "/uai/2.0/updates/statusLog"
HISTORY_RETENTION_SECONDS = 400 * 86_400


def status_log_url(polling_id: str) -> str:
    return f"{STATUS_LOG_PATH}/{polling_id}"


def submit_status_log(
    report: StatusLogRequest,
    token: DeviceToken,
    idempotent: IdempotentRequest | None = None,
    store: OperationStore | None = None,
) -> str:
    """Record the report as a Pending operation, start the workflow that logs it; answer its polling ID.

    With an Idempotency-Key, a retry of the same report answers the first polling ID; the key is scoped to
    the device (all devices share the producer's key pair, so the signing key alone would not separate them).
    """
    body = report.model_dump(mode="json")
    work = {"report": body, "keyId": token.key_id}
    scope = f"{token.key_id}\n{token.claims.get('sub', '')}\n{report.idType}\n{report.id}"
    accepted = run_once(
        KIND, scope, idempotent, body, lambda: {"pollingId": submit_operation(WORKFLOW, TENANT, work, store).id}
    )
    return str(accepted["pollingId"])


@dataclass(frozen=True)
class Poll:
    """What a poll answers: still pending (202 + url) or the outcome (200)."""

    polling_id: str
    outcome: dict[str, Any] | None

    @property
    def url(self) -> str:
        return status_log_url(self.polling_id)


def poll_status_log(polling_id: str | None, store: OperationStore | None = None) -> Poll:
    if not polling_id:
        raise Invalid(messages.POLLING_ID_MISSING.render())
    operation = (store or OperationStore()).get(polling_id) if _looks_like_id(polling_id) else None
    if operation is None or operation.kind != KIND:
        raise NotFound(messages.POLLING_NOT_FOUND.render(polling_id))
    if clock.epoch() >= operation.available_until:
        raise Expired(messages.POLLING_EXPIRED.render(polling_id))
    return Poll(polling_id, operation.result if operation.finished else None)


def _looks_like_id(polling_id: str) -> bool:
    return 0 < len(polling_id) <= 64 and all(c.isalnum() or c == "-" for c in polling_id)


def record_status_log(polling_id: str, store: OperationStore | None = None, keys: KeyStore | None = None) -> str:
    """The workflow's task: log the report once in the device history and finish the operation.

    Safe to run more than once for the same operation (Step Functions retries): the first outcome stands.
    Returns the operation's final status.
    """
    store = store or OperationStore()
    operation = store.get(polling_id, consistent=True)
    if operation is None:
        raise LookupError(f"no operation {polling_id}")
    if operation.finished:
        return operation.status
    report = StatusLogRequest.model_validate(operation.work["report"])
    key_id = str(operation.work.get("keyId", ""))
    signing_key = (keys or KeyStore(store.table)).get(key_id)
    if signing_key is None or not signing_key.usable(clock.epoch()):
        store.finish(polling_id, "Failed", messages.KEY_REVOKED.render(key_id), reason="signing key revoked")
        return "Failed"
    device = device_label(report)
    key, entry = history_entry(report, polling_id)
    logged = messages.STATUS_LOGGED.render(report.statusCode, report.updateId, device)
    try:
        store.table.transact(
            Put(key, entry, condition="attribute_not_exists(pk)"),
            store.finish_write(polling_id, "Succeeded", logged),
        )
    except TransactionCancelled as cancelled:
        if cancelled.condition_failed(0):  # the same report was logged before
            duplicate = messages.STATUS_DUPLICATE.render(report.statusCode, report.updateId, device)
            store.finish(polling_id, "Succeeded", duplicate)
        elif not cancelled.condition_failed(1):  # (finished meanwhile by another attempt: its outcome stands)
            raise
    else:
        observability.operation_finished("Succeeded", operation.created_at)
        return "Succeeded"  # committed: no need to read it back
    final = store.get(polling_id, consistent=True)
    return final.status if final else "Failed"


def device_label(report: StatusLogRequest) -> str:
    return f"{report.idType}:{report.id}" if report.id else "anonymous"


def history_entry(report: StatusLogRequest, polling_id: str) -> tuple[Key, dict[str, Any]]:
    """One line of a device's update history; the same report sent twice maps to the same key."""
    body = report.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    key = items.history_entry(_history_of(report), report.timeStamp, digest)
    return key, {
        **body,
        "pollingId": polling_id,
        "loggedAt": clock.iso(),
        "expiresAt": int(clock.epoch()) + HISTORY_RETENTION_SECONDS,
    }


def device_history(report_owner: StatusLogRequest, table: Table | None = None) -> list[dict[str, Any]]:
    """A device's logged statuses, oldest first (the partition `history_entry` writes)."""
    return list((table or Table()).query(_history_of(report_owner), items.STATUS_PREFIX, consistent=True))


def _history_of(report: StatusLogRequest) -> str:
    return items.device_history(report.idType, report.id, report.publisherName)
