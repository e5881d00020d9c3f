"""GET /subscriptions[/{cloud|containers}]?type=all|global|owner&owner=&subscriptionRef=: the visible ones."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.models import SubscriptionView
from pollgate.densify.subscriptions import list_subscriptions

logger = Logger()
app = http.resolver()


def _list(platform: str | None) -> list[SubscriptionView]:
    caller = http.authenticate(app)
    found = list_subscriptions(
        http.platform_of(platform),
        caller,
        kind=http.query(app, "type") or "all",
        owner=http.query(app, "owner"),
        ref=http.query(app, "subscriptionRef"),
    )
    return [subscription.view(caller) for subscription in found]


@app.get("/subscriptions", responses=http.ANSWER)
def list_cloud() -> list[SubscriptionView]:
    return _list(None)


@app.get("/subscriptions/<platformType>", responses=http.ANSWER)
def list_platform(platformType: str) -> list[SubscriptionView]:
    return _list(platformType)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
