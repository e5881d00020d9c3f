"""SQS consumer: make the webhook attempts a batch carries (POST, record, hand the outcome to its owner)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.observability import metrics
from pollgate.registry import register_outcome_handlers
from pollgate.tracing import tracer
from pollgate.webhooks.consumer import process_delivery_batch

logger = Logger()
register_outcome_handlers()


@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_delivery_batch(event, context))
