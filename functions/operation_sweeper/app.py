"""Every minute: re-drive operations whose workflow missed its deadline, fail those out of attempts."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.observability import metrics
from pollgate.operations import sweep_stuck_operations
from pollgate.registry import register_workflows
from pollgate.tracing import tracer

logger = Logger()
register_workflows()


@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = sweep_stuck_operations()
    logger.info("sweep done", extra={"restarted": report.restarted, "failed": report.failed})
    return {"restarted": report.restarted, "failed": report.failed}
