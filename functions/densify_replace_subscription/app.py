"""PUT /subscriptions[/{cloud|containers}]/{subscriptionRef}: replace a subscription's whole definition."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.models import SubscriptionBody, SubscriptionView
from pollgate.densify.subscriptions import replace_subscription

logger = Logger()
app = http.resolver()


def _replace(platform: str | None, ref: str, body: SubscriptionBody) -> SubscriptionView:
    http.require_json(app)
    caller = http.authenticate(app)
    replaced = replace_subscription(http.platform_of(platform), ref, body, caller)
    return replaced.view(caller)


@app.put("/subscriptions/<subscriptionRef>", responses=http.ANSWER)
def replace_cloud(subscriptionRef: str, body: Annotated[SubscriptionBody, Body()]) -> SubscriptionView:
    return _replace(None, subscriptionRef, body)


@app.put("/subscriptions/<platformType>/<subscriptionRef>", responses=http.ANSWER)
def replace(platformType: str, subscriptionRef: str, body: Annotated[SubscriptionBody, Body()]) -> SubscriptionView:
    return _replace(platformType, subscriptionRef, body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
