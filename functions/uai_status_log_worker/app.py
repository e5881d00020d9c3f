"""Step Functions task: log one status report in the device history and finish its operation."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.observability import metrics
from pollgate.tracing import tracer
from pollgate.uai.history import record_status_log

logger = Logger()


@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(correlation_id_path="pollingId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    status = record_status_log(str(event["pollingId"]))
    return {"pollingId": event["pollingId"], "status": status}
