"""DELETE /subscriptions[/{cloud|containers}]/{subscriptionRef}: 204, or 404 when missing or not yours."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.subscriptions import delete_subscriptions

logger = Logger()
app = http.resolver()


def _delete(platform: str | None, ref: str) -> Response[None]:
    caller = http.authenticate(app)
    delete_subscriptions(http.platform_of(platform), [ref], caller)
    return Response(status_code=204)


@app.delete("/subscriptions/<subscriptionRef>", responses=http.DELETED)
def delete_cloud(subscriptionRef: str) -> Response[None]:
    return _delete(None, subscriptionRef)


@app.delete("/subscriptions/<platformType>/<subscriptionRef>", responses=http.DELETED)
def delete(platformType: str, subscriptionRef: str) -> Response[None]:
    return _delete(platformType, subscriptionRef)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
