"""DELETE /subscriptions[/{cloud|containers}] with a JSON array of subscriptionRefs (or of {"subscriptionRef"}
objects): deletes all of them or, when one is missing or not yours, none (404)."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.models import SubscriptionRefs
from pollgate.densify.subscriptions import delete_subscriptions

logger = Logger()
app = http.resolver()


def _delete(platform: str | None, refs: SubscriptionRefs) -> Response[None]:
    http.require_json(app)
    caller = http.authenticate(app)
    delete_subscriptions(http.platform_of(platform), refs.refs(), caller)
    return Response(status_code=204)


@app.delete("/subscriptions", responses=http.DELETED)
def delete_cloud(refs: Annotated[SubscriptionRefs, Body()]) -> Response[None]:
    return _delete(None, refs)


@app.delete("/subscriptions/<platformType>", responses=http.DELETED)
def delete(platformType: str, refs: Annotated[SubscriptionRefs, Body()]) -> Response[None]:
    return _delete(platformType, refs)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
