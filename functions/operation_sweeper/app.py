"""Every minute: re-drive operations whose workflow missed its deadline, fail those out of attempts."""

from typing import Any

import pollgate.thingspace.actions  # registers the ThingSpace device-action workflow this sweeper re-drives
import pollgate.uai.status_log  # noqa: F401 - registers the workflow this sweeper re-drives
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.observability import metrics
from pollgate.operations import sweep_stuck_operations
from pollgate.tracing import tracer

logger = Logger()


@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = sweep_stuck_operations()
    logger.info("sweep done", extra={"restarted": report.restarted, "failed": report.failed})
    return {"restarted": report.restarted, "failed": report.failed}
