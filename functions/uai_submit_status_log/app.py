"""POST /uai/2.0/updates/statusLog: a device reports update progress; answer 202 with the URL to poll."""

from typing import Annotated, Any

import jwt  # noqa: F401 - every request verifies a JWT: load the verifier during init, not on the first request
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import idempotent_request
from pollgate.observability import metrics
from pollgate.uai import http
from pollgate.uai.models import PollingUrl, StatusLogRequest
from pollgate.uai.status_log import status_log_url, submit_status_log

logger = Logger()
app = http.resolver()


@app.post("/uai/2.0/updates/statusLog", responses=http.ACCEPTED)
def post_status_log(report: Annotated[StatusLogRequest, Body()]) -> Response[PollingUrl]:
    token = http.authenticate_device(app)
    polling_id = submit_status_log(report, token, idempotent_request(app))
    return http.accepted(status_log_url(polling_id))


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
