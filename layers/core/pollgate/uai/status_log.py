"""The status log: accept a report (202 + polling URL) and answer polls; the workflow records each report in the
device history (uai/history.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pollgate import clock
from pollgate.errors import Expired, Invalid, NotFound
from pollgate.idempotency import IdempotentRequest, run_once
from pollgate.operations import OperationStore, submit_operation
from pollgate.uai import messages
from pollgate.uai.auth import DeviceToken
from pollgate.uai.models import StatusLogRequest
from pollgate.uai.workflow import KIND, WORKFLOW

TENANT = "uai"
STATUS_LOG_PATH = "/uai/2.0/updates/statusLog"


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
