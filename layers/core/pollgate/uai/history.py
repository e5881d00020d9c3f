"""The status-log workflow's task: record a report once in its device's history and finish its operation.

It reads the report as the submit stored it (validated, `StatusLogRequest.model_dump`), so neither the worker's
init nor its invocations load pydantic or the face's models.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pollgate import clock, observability
from pollgate.operations import OperationStore
from pollgate.store import Key, Put, Table, TransactionCancelled
from pollgate.uai import items, messages
from pollgate.uai.keys import KeyStore

HISTORY_RETENTION_SECONDS = 400 * 86_400


def record_status_log(polling_id: str, store: OperationStore | None = None, keys: KeyStore | None = None) -> str:
    """The workflow's task: log the report once in the device history and finish the operation.

    Safe to run more than once for the same operation (Step Functions retries): the first outcome stands.
    Returns the operation's final status.
    """
    store = store or OperationStore()
    operation = store.for_task(polling_id)
    if operation.finished:
        return operation.status
    # As the submit validated and stored it (StatusLogRequest.model_dump): no model needed to read it back.
    report: Mapping[str, Any] = operation.work["report"]
    key_id = str(operation.work.get("keyId", ""))
    signing_key = (keys or KeyStore(store.table)).get(key_id)
    if signing_key is None or not signing_key.usable(clock.epoch()):
        store.finish(polling_id, "Failed", messages.KEY_REVOKED.render(key_id), reason="signing key revoked")
        return "Failed"
    device = device_label(report)
    key, entry = history_entry(report, polling_id)
    logged = messages.STATUS_LOGGED.render(report["statusCode"], report["updateId"], device)
    try:
        store.table.transact(
            Put(key, entry, condition="attribute_not_exists(pk)"),
            store.finish_write(polling_id, "Succeeded", logged),
        )
    except TransactionCancelled as cancelled:
        if cancelled.condition_failed(0):  # the same report was logged before
            duplicate = messages.STATUS_DUPLICATE.render(report["statusCode"], report["updateId"], device)
            store.finish(polling_id, "Succeeded", duplicate)
        elif not cancelled.condition_failed(1):  # (finished meanwhile by another attempt: its outcome stands)
            raise
    else:
        observability.operation_finished("Succeeded", operation.created_at)
        return "Succeeded"  # committed: no need to read it back
    final = store.get(polling_id, consistent=True)
    return final.status if final else "Failed"


def device_label(report: Mapping[str, Any]) -> str:
    return f"{report['idType']}:{report['id']}" if report["id"] else "anonymous"


def history_entry(report: Mapping[str, Any], polling_id: str) -> tuple[Key, dict[str, Any]]:
    """One line of a device's update history; the same report sent twice maps to the same key."""
    digest = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()[:32]
    key = items.history_entry(_history_of(report), report["timeStamp"], digest)
    return key, {
        **report,
        "pollingId": polling_id,
        "loggedAt": clock.iso(),
        "expiresAt": int(clock.epoch()) + HISTORY_RETENTION_SECONDS,
    }


def device_history(report_owner: Mapping[str, Any], table: Table | None = None) -> list[dict[str, Any]]:
    """A device's logged statuses, oldest first (the partition `history_entry` writes)."""
    return list((table or Table()).query(_history_of(report_owner), items.STATUS_PREFIX, consistent=True))


def _history_of(report: Mapping[str, Any]) -> str:
    return items.device_history(report["idType"], report["id"], report["publisherName"])
