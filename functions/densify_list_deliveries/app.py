"""GET /subscriptions[/{cloud|containers}]/{subscriptionRef}/deliveries?limit=: every recorded push attempt,
newest first (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.push import DeliveryList, list_deliveries
from pollgate.densify.results import parse_attempt_limit

logger = Logger()
app = http.resolver()


def _list(platform: str | None, ref: str) -> DeliveryList:
    caller = http.authenticate(app)
    limit = parse_attempt_limit(http.query(app, "limit"))
    return list_deliveries(http.platform_of(platform), ref, caller, limit=limit)


@app.get("/subscriptions/<subscriptionRef>/deliveries", responses=http.ANSWER)
def deliveries_cloud(subscriptionRef: str) -> DeliveryList:
    return _list(None, subscriptionRef)


@app.get("/subscriptions/<platformType>/<subscriptionRef>/deliveries", responses=http.ANSWER)
def deliveries(platformType: str, subscriptionRef: str) -> DeliveryList:
    return _list(platformType, subscriptionRef)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
