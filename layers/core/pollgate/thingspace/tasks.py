"""The device-action workflow's tasks (statemachines/thingspace_device_action.asl.json), one worker's:
- `single`: the whole of a single-device request in one invocation, `apply` then `finish` (the request most
  clients send: three Lambda invocations and the workflow's Map for one device cost more than the device);
- `plan`: the device indexes of a multi-device request, for a Map state;
- `apply`: one device through the provisioning backend; its outcome is recorded once per (request, device),
  so a retried step or a re-driven workflow never provisions a device twice;
- `finish`: fold the device outcomes into the operation (Succeeded when every device succeeded, else
  Failed), then queue the CarrierService callbacks. It also runs after the workflow's MarkFailed state, so a
  request that failed as a whole still tells its listener.

Each device's outcome is a device result (thingspace/device_results.py).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger

from pollgate.operations import Operation, OperationStore
from pollgate.thingspace import errors
from pollgate.thingspace.kinds import DeviceAction
from pollgate.thingspace.workflow import KIND, STATUS_NAMES

if TYPE_CHECKING:  # loaded by the task that needs them
    from pollgate.thingspace.device_results import DeviceResultStore
    from pollgate.thingspace.inventory import DeviceTransition, ProvisioningBackend

logger = Logger(child=True)


def plan(polling_id: str, store: OperationStore | None = None) -> dict[str, Any]:
    operation = (store or OperationStore()).for_task(polling_id, KIND)
    indexes = [] if operation.finished else list(range(len(operation.work["devices"])))
    return {"pollingId": polling_id, "devices": indexes}


def transition_for(operation: Operation, index: int) -> DeviceTransition:
    from pollgate.thingspace.inventory import DeviceTransition

    ids = operation.work["devices"][index]
    return DeviceTransition(
        request_id=operation.id,
        index=index,
        account=operation.tenant,
        action=DeviceAction(operation.work["action"]),
        device_ids=tuple((d["kind"], d["id"]) for d in ids),
        options=operation.work.get("options", {}),
    )


def apply_device(
    polling_id: str,
    index: int,
    store: OperationStore | None = None,
    backend: ProvisioningBackend | None = None,
    results: DeviceResultStore | None = None,
    operation: Operation | None = None,
) -> str:
    """Apply the action to one device and record its outcome once. Answers the recorded status."""
    from pollgate.thingspace.device_results import DeviceResult, DeviceResultStore
    from pollgate.thingspace.inventory import configured_backend

    store = store or OperationStore()
    results = results or DeviceResultStore(store.table)
    operation = operation or store.for_task(polling_id, KIND)
    recorded = results.get(polling_id, index)
    if recorded is not None:
        return str(recorded["status"])
    if operation.finished:
        return "Skipped"
    transition = transition_for(operation, index)
    outcome = (backend or configured_backend()).apply(transition)
    result = DeviceResult(
        polling_id,
        index,
        operation.work["devices"][index],
        outcome.succeeded,
        outcome.state,
        outcome.error_code,
        outcome.error_message,
    )
    if results.record(result, operation.available_until):
        return "Success" if outcome.succeeded else "Failed"
    first = results.get(polling_id, index)  # a concurrent attempt recorded first: its outcome stands
    return str(first["status"]) if first else "Failed"


def apply_single_device(polling_id: str, claimant: str | None = None, store: OperationStore | None = None) -> str:
    """`apply` for the request's one device, then `finish`, as the Map path does them in two invocations.

    As in the Map path, a device step that cannot reach the backend is retried (BackendUnavailable propagates to
    the state machine's Retry) and one that fails otherwise leaves no outcome, which `finish` records as an
    unexpected error; a `finish` that fails propagates, to be retried.
    """
    from pollgate.thingspace.inventory import BackendUnavailable

    store = store or OperationStore()
    # Read once for both steps: Finish's own write is conditional on Pending, so a request finished meanwhile by
    # another attempt is not finished twice.
    operation = store.for_task(polling_id, KIND)
    try:
        apply_device(polling_id, 0, store, operation=operation)
    except BackendUnavailable:
        raise
    except Exception:
        logger.exception("the device step failed", extra={"pollingId": polling_id})
    return finish(polling_id, store, claimant=claimant, operation=operation)


def finish(
    polling_id: str,
    store: OperationStore | None = None,
    results: DeviceResultStore | None = None,
    reason: str | None = None,
    claimant: str | None = None,
    operation: Operation | None = None,
) -> str:
    """Fold device outcomes into the operation (once), then queue every device's callback (once)."""
    # Only this task queues callbacks: the submit function never loads the webhook engine.
    from pollgate.thingspace.carrier_service import queue_carrier_service_results
    from pollgate.thingspace.device_results import DeviceResult, DeviceResultStore

    store = store or OperationStore()
    results = results or DeviceResultStore(store.table)
    operation = operation or store.for_task(polling_id, KIND)
    why = reason or operation.reason or "the device step did not finish"
    found = results.all(polling_id)
    recorded = {int(item["index"]) for item in found}
    missing = [index for index in range(len(operation.work["devices"])) if index not in recorded]
    for index in missing:
        results.record(
            DeviceResult(polling_id, index, operation.work["devices"][index], False, None, errors.UNEXPECTED.code, why),
            operation.available_until,
        )
    device_results = [DeviceResult.from_item(item) for item in (results.all(polling_id) if missing else found)]
    if not operation.finished:
        everything_done = all(result.succeeded for result in device_results)
        status: Literal["Succeeded", "Failed"] = "Succeeded" if everything_done else "Failed"
        summary = {"action": operation.work["action"], "devices": [r.summary() for r in device_results]}
        reason_failed = None if everything_done else "one or more devices failed"
        # Finished by this call, or by another attempt meanwhile (then its outcome stands: read it).
        operation = store.finish_as(polling_id, status, summary, reason_failed) or store.for_task(polling_id, KIND)
    queue_carrier_service_results(operation, device_results, results, claimant or str(uuid.uuid4()))
    # (raises CallbackClaimHeld while another attempt may still be queueing: Step Functions retries Finish)
    return STATUS_NAMES[operation.status]
