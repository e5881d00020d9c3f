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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger

from pollgate.operations import Operation, OperationStore
from pollgate.thingspace import errors
from pollgate.thingspace.kinds import DeviceAction
from pollgate.thingspace.workflow import KIND, STATUS_NAMES

if TYPE_CHECKING:  # loaded by the task that needs them
    from pollgate.store import Item
    from pollgate.thingspace.device_results import DeviceResult, DeviceResultStore
    from pollgate.thingspace.inventory import DeviceTransition, ProvisioningBackend

logger = Logger(child=True)


@dataclass(frozen=True)
class SingleDeviceStep:
    """What `apply_single_device` hands Finish: the CarrierService listener it read before the device step (None:
    there is none), and the outcome it recorded (None: another attempt's stands, or none was), recorded with the
    callback claimed when there is a listener."""

    listener: Item | None
    recorded: DeviceResult | None


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
    store = store or OperationStore()
    operation = operation or store.for_task(polling_id, KIND)
    return _apply(operation, index, store, backend=backend, results=results)[0]


def _apply(
    operation: Operation,
    index: int,
    store: OperationStore,
    *,
    backend: ProvisioningBackend | None = None,
    results: DeviceResultStore | None = None,
    callback_claim: tuple[str, float] | None = None,
) -> tuple[str, DeviceResult | None]:
    """`apply_device`, and the outcome when this call is the one that recorded it (with `callback_claim` taken)."""
    from pollgate.thingspace.device_results import DeviceResult, DeviceResultStore
    from pollgate.thingspace.inventory import configured_backend

    polling_id = operation.id
    results = results or DeviceResultStore(store.table)
    recorded = results.get(polling_id, index)
    if recorded is not None:
        return str(recorded["status"]), None
    if operation.finished:
        return "Skipped", None
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
    if results.record(result, operation.available_until, callback_claim):
        return ("Success" if outcome.succeeded else "Failed"), result
    first = results.get(polling_id, index)  # a concurrent attempt recorded first: its outcome stands
    return (str(first["status"]) if first else "Failed"), None


def apply_single_device(polling_id: str, claimant: str | None = None, store: OperationStore | None = None) -> str:
    """`apply` for the request's one device, then `finish`, as the Map path does them in two invocations.

    As in the Map path, a device step that cannot reach the backend is retried (BackendUnavailable propagates to
    the state machine's Retry) and one that fails otherwise leaves no outcome, which `finish` records as an
    unexpected error; a `finish` that fails propagates, to be retried.
    """
    from pollgate.thingspace.carrier_service import CALLBACK_CLAIM_SECONDS, live_listener
    from pollgate.thingspace.inventory import BackendUnavailable

    store = store or OperationStore()
    claimant = claimant or str(uuid.uuid4())
    # Read once for both steps: Finish's own write is conditional on Pending, so a request finished meanwhile by
    # another attempt is not finished twice.
    operation = store.for_task(polling_id, KIND)
    listener = live_listener(operation.tenant, store.table)
    # With a listener, the outcome is recorded with the claim on its callback taken: Finish neither reads the
    # outcome back nor claims it.
    claim = (claimant, CALLBACK_CLAIM_SECONDS) if listener is not None else None
    recorded = None
    try:
        _, recorded = _apply(operation, 0, store, callback_claim=claim)
    except BackendUnavailable:
        raise
    except Exception:
        logger.exception("the device step failed", extra={"pollingId": polling_id})
    return finish(polling_id, store, claimant=claimant, operation=operation, step=SingleDeviceStep(listener, recorded))


def finish(
    polling_id: str,
    store: OperationStore | None = None,
    results: DeviceResultStore | None = None,
    reason: str | None = None,
    claimant: str | None = None,
    operation: Operation | None = None,
    step: SingleDeviceStep | None = None,
) -> str:
    """Fold device outcomes into the operation (once), then queue every device's callback (once)."""
    # Only this task queues callbacks: the submit function never loads the webhook engine.
    from pollgate.thingspace.carrier_service import live_listener, queue_carrier_service_results
    from pollgate.thingspace.device_results import DeviceResultStore

    store = store or OperationStore()
    results = results or DeviceResultStore(store.table)
    operation = operation or store.for_task(polling_id, KIND)
    claimed: frozenset[int] = frozenset()
    if step is not None and step.recorded is not None and len(operation.work["devices"]) == 1:
        device_results = [step.recorded]
        claimed = frozenset({step.recorded.index}) if step.listener is not None else frozenset()
    else:
        device_results = _every_outcome(operation, results, reason or operation.reason)
    if not operation.finished:
        everything_done = all(result.succeeded for result in device_results)
        status: Literal["Succeeded", "Failed"] = "Succeeded" if everything_done else "Failed"
        summary = {"action": operation.work["action"], "devices": [r.summary() for r in device_results]}
        reason_failed = None if everything_done else "one or more devices failed"
        # Finished by this call, or by another attempt meanwhile (then its outcome stands: read it).
        operation = store.finish_as(polling_id, status, summary, reason_failed) or store.for_task(polling_id, KIND)
    registration = step.listener if step is not None else live_listener(operation.tenant, results.table)
    queue_carrier_service_results(
        operation, device_results, results, claimant or str(uuid.uuid4()), registration, claimed
    )
    # (raises CallbackClaimHeld while another attempt may still be queueing: Step Functions retries Finish)
    return STATUS_NAMES[operation.status]


def _every_outcome(operation: Operation, results: DeviceResultStore, reason: str | None) -> list[DeviceResult]:
    """Every device's recorded outcome; a device with none is recorded as an unexpected error first."""
    from pollgate.thingspace.device_results import DeviceResult

    why = reason or "the device step did not finish"
    found = results.all(operation.id)
    recorded = {int(item["index"]) for item in found}
    missing = [index for index in range(len(operation.work["devices"])) if index not in recorded]
    for index in missing:
        results.record(
            DeviceResult(
                operation.id, index, operation.work["devices"][index], False, None, errors.UNEXPECTED.code, why
            ),
            operation.available_until,
        )
    return [DeviceResult.from_item(item) for item in (results.all(operation.id) if missing else found)]
