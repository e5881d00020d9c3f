"""GET /subscriptions[/{cloud|containers}]/{subscriptionRef}/status: lastTriggered and webHookStatus."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import json_response
from pollgate.densify import http
from pollgate.densify.results import status

logger = Logger()
app = http.resolver()


@app.get("/subscriptions/<subscriptionRef>/status")
def status_cloud(subscriptionRef: str) -> Response[Any]:
    return json_response(200, status("cloud", subscriptionRef, http.authenticate(app)))


@app.get("/subscriptions/<platformType>/<subscriptionRef>/status")
def status_platform(platformType: str, subscriptionRef: str) -> Response[Any]:
    caller = http.authenticate(app)
    return json_response(200, status(http.platform_of(platformType), subscriptionRef, caller))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
