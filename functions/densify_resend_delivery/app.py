"""POST /subscriptions[/{cloud|containers}]/{subscriptionRef}/deliveries/{deliveryId}/resend: push a failed
delivery's document again, as a new delivery (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.models import ResentDelivery
from pollgate.densify.push import resend

logger = Logger()
app = http.resolver()


def _resend(platform: str | None, ref: str, delivery_id: str) -> ResentDelivery:
    caller = http.authenticate(app)
    new_id = resend(http.platform_of(platform), ref, delivery_id, caller)
    return ResentDelivery(deliveryId=new_id, resentFrom=delivery_id)


@app.post("/subscriptions/<subscriptionRef>/deliveries/<deliveryId>/resend", responses=http.ANSWER)
def resend_cloud(subscriptionRef: str, deliveryId: str) -> ResentDelivery:
    return _resend(None, subscriptionRef, deliveryId)


@app.post("/subscriptions/<platformType>/<subscriptionRef>/deliveries/<deliveryId>/resend", responses=http.ANSWER)
def resend_platform(platformType: str, subscriptionRef: str, deliveryId: str) -> ResentDelivery:
    return _resend(platformType, subscriptionRef, deliveryId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
