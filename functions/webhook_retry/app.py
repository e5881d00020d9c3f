"""Every minute: put overdue webhook deliveries back on the queue (long retries, lost messages, crashed attempts)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.tracing import tracer
from pollgate.webhooks import requeue_due_deliveries

logger = Logger()


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = requeue_due_deliveries()
    logger.info("webhook retrier done", extra={"requeued": report.requeued, "skipped": report.skipped})
    return {"requeued": report.requeued, "skipped": report.skipped}
