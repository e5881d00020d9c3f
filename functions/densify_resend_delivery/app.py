"""POST /subscriptions[/{cloud|containers}]/{subscriptionRef}/deliveries/{deliveryId}/resend: push a failed
delivery's document again, as a new delivery (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import json_response
from pollgate.densify import http
from pollgate.densify.push import resend

logger = Logger()
app = http.resolver()


def _resend(platform: str | None, ref: str, delivery_id: str) -> Response[Any]:
    caller = http.authenticate(app)
    new_id = resend(http.platform_of(platform), ref, delivery_id, caller)
    return json_response(200, {"deliveryId": new_id, "resentFrom": delivery_id, "status": 200})


@app.post("/subscriptions/<subscriptionRef>/deliveries/<deliveryId>/resend")
def resend_cloud(subscriptionRef: str, deliveryId: str) -> Response[Any]:
    return _resend(None, subscriptionRef, deliveryId)


@app.post("/subscriptions/<platformType>/<subscriptionRef>/deliveries/<deliveryId>/resend")
def resend_platform(platformType: str, subscriptionRef: str, deliveryId: str) -> Response[Any]:
    return _resend(platformType, subscriptionRef, deliveryId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
