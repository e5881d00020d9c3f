"""POST /subscriptions[/{cloud|containers}]: create subscriptions from a JSON array, all or nothing."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.models import CreatedSubscription, SubscriptionBody
from pollgate.densify.subscriptions import create_subscriptions

logger = Logger()
app = http.resolver()


def _create(platform: str | None, bodies: list[SubscriptionBody]) -> list[CreatedSubscription]:
    http.require_json(app)
    caller = http.authenticate(app)
    created = create_subscriptions(http.platform_of(platform), bodies, caller)
    return [
        CreatedSubscription(subscriptionRef=s.ref, subscriptionName=s.name, signingSecret=s.signing_secret)
        for s in created
    ]


@app.post("/subscriptions", responses=http.ANSWER)
def create_cloud(bodies: Annotated[list[SubscriptionBody], Body()]) -> list[CreatedSubscription]:
    return _create(None, bodies)


@app.post("/subscriptions/<platformType>", responses=http.ANSWER)
def create(platformType: str, bodies: Annotated[list[SubscriptionBody], Body()]) -> list[CreatedSubscription]:
    return _create(platformType, bodies)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
