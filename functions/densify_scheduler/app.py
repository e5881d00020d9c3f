"""On the EventBridge schedule: hand every due subscription's results to the webhook engine."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify.push import run_scheduler
from pollgate.tracing import tracer

logger = Logger()


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = run_scheduler()
    logger.info(
        "scheduler run done",
        extra={
            "enqueued": report.enqueued,
            "rescheduled": report.rescheduled,
            "unscheduled": report.unscheduled,
            "failed": report.failed,
        },
    )
    return {
        "enqueued": report.enqueued,
        "rescheduled": report.rescheduled,
        "unscheduled": report.unscheduled,
        "failed": report.failed,
    }
