"""Step Functions tasks of the device-action workflow: a single-device request whole; or plan, apply one, finish."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.observability import metrics
from pollgate.thingspace.tasks import apply_device, apply_single_device, finish, plan
from pollgate.tracing import tracer

logger = Logger()


@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(correlation_id_path="pollingId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    polling_id = str(event["pollingId"])
    task = event.get("task")
    if task == "single":
        return {"pollingId": polling_id, "status": apply_single_device(polling_id, claimant=context.aws_request_id)}
    if task == "plan":
        return plan(polling_id)
    if task == "apply":
        index = int(event["index"])
        return {"pollingId": polling_id, "index": index, "status": apply_device(polling_id, index)}
    if task == "finish":
        error = event.get("error") or {}
        reason = f"{error.get('Error', '')}: {error.get('Cause', '')}"[:500] if error else None
        # Each attempt claims callbacks as itself: a timed-out attempt still running keeps its claim.
        return {"pollingId": polling_id, "status": finish(polling_id, reason=reason, claimant=context.aws_request_id)}
    raise ValueError(f"unknown task {task!r}")
