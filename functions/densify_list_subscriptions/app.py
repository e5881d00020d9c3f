"""GET /subscriptions[/{cloud|containers}]?type=all|global|owner&owner=&subscriptionRef=: the visible ones."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import json_response
from pollgate.densify import http
from pollgate.densify.subscriptions import list_subscriptions

logger = Logger()
app = http.resolver()


def _list(platform: str | None) -> Response[Any]:
    caller = http.authenticate(app)
    found = list_subscriptions(http.platform_of(platform), caller, kind=http.query(app, "type") or "all",
                               owner=http.query(app, "owner"), ref=http.query(app, "subscriptionRef"))
    return json_response(200, [subscription.view(caller) for subscription in found])


@app.get("/subscriptions")
def list_cloud() -> Response[Any]:
    return _list(None)


@app.get("/subscriptions/<platformType>")
def list_platform(platformType: str) -> Response[Any]:
    return _list(platformType)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
