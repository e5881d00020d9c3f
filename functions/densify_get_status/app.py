"""GET /subscriptions[/{cloud|containers}]/{subscriptionRef}/status: lastTriggered and webHookStatus."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.models import SubscriptionStatus
from pollgate.densify.results import status

logger = Logger()
app = http.resolver()


@app.get("/subscriptions/<subscriptionRef>/status", responses=http.ANSWER)
def status_cloud(subscriptionRef: str) -> SubscriptionStatus:
    return status("cloud", subscriptionRef, http.authenticate(app))


@app.get("/subscriptions/<platformType>/<subscriptionRef>/status", responses=http.ANSWER)
def status_platform(platformType: str, subscriptionRef: str) -> SubscriptionStatus:
    caller = http.authenticate(app)
    return status(http.platform_of(platformType), subscriptionRef, caller)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
