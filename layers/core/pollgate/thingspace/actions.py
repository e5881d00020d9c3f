"""Device actions: accept a request (a Pending operation + its workflow) and answer its status. The workflow's
tasks, which apply it per device, are in thingspace/tasks.py.
"""

from __future__ import annotations

from typing import Literal

from pollgate import clock
from pollgate.errors import Invalid, NotFound
from pollgate.idempotency import IdempotentRequest, run_once
from pollgate.operations import OperationStore, submit_operation
from pollgate.thingspace import errors
from pollgate.thingspace.auth import Session, require_account
from pollgate.thingspace.kinds import DeviceAction
from pollgate.thingspace.models import DeviceActionRequest
from pollgate.thingspace.workflow import KIND, STATUS_NAMES, WORKFLOW


def submit_device_action(
    action: DeviceAction,
    request: DeviceActionRequest,
    session: Session,
    idempotent: IdempotentRequest | None = None,
    store: OperationStore | None = None,
) -> str:
    """Store the request Pending and start its workflow; answer its requestId.

    With an Idempotency-Key (ours; scoped to the user), a retried request answers the first requestId and
    provisions nothing twice.
    """
    require_account(session, request.accountName)
    work = {
        "action": action.value,
        "accountName": request.accountName,
        "devices": [[{"kind": d.kind.value, "id": d.id} for d in entry.deviceIds] for entry in request.devices],
        "options": request.options(),
        "submittedAt": clock.epoch(),
    }
    body = {"action": action.value, **request.model_dump(mode="json", exclude_none=True)}
    accepted = run_once(
        KIND,
        session.username,
        idempotent,
        body,
        lambda: {"requestId": submit_operation(WORKFLOW, request.accountName, work, store).id},
    )
    return str(accepted["requestId"])


def request_status(
    account: str, request_id: str, session: Session, store: OperationStore | None = None
) -> Literal["Pending", "Success", "Failed"]:
    """The status of a single-device request of this account; any other request is not found, as the vendor says."""
    require_account(session, account)
    operation = (store or OperationStore()).get(request_id) if _looks_like_id(request_id) else None
    if (
        operation is None
        or operation.kind != KIND
        or operation.tenant != account
        or clock.epoch() >= operation.available_until
    ):
        raise NotFound(errors.REQUEST_NOT_FOUND.body(request_id[:64], account[:64]))
    devices = len(operation.work.get("devices", []))
    if devices != 1:
        raise Invalid(errors.MULTIPLE_DEVICES.body(request_id, devices))
    return STATUS_NAMES[operation.status]


def _looks_like_id(value: str) -> bool:
    return 0 < len(value) <= 64 and all(c.isalnum() or c == "-" for c in value)
