"""The device-action workflow as the sweeper knows it: its kind, state machine, deadline and failure answer.

Apart from pollgate.thingspace.actions so that the operation sweeper, which re-drives or fails every kind of
operation, loads no ThingSpace models (nor pydantic) at its cold start.
"""

from __future__ import annotations

from typing import Any, Literal

from pollgate.operations import Operation, Workflow
from pollgate.thingspace import errors

KIND = "thingspace.deviceAction"

# An operation's status as the vendor names a request's.
STATUS_NAMES: dict[str, Literal["Pending", "Success", "Failed"]] = {
    "Pending": "Pending",
    "Succeeded": "Success",
    "Failed": "Failed",
}


def _failure_result(reason: str) -> dict[str, Any]:
    return {"fault": {"faultcode": errors.UNEXPECTED.code, "faultstring": reason}}


def _execution_input(operation: Operation) -> dict[str, Any]:
    # A single-device request (what most clients send) takes the state machine's one-task path.
    return {"pollingId": operation.id, "deviceCount": len(operation.work.get("devices", []))}


WORKFLOW = Workflow(
    kind=KIND,
    state_machine_arn=lambda settings: settings.thingspace_device_action_state_machine_arn,
    deadline_seconds=lambda settings: settings.thingspace_device_action_deadline_seconds,
    failure_result=_failure_result,
    execution_input=_execution_input,
)
