"""POST /subscriptions[/{cloud|containers}]/{subscriptionRef}/test: send a sample push to the webhook now, once,
recorded like any push attempt (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.models import TestEventSent
from pollgate.densify.webhook_tools import send_test_event

logger = Logger()
app = http.resolver()


def _send(platform: str | None, ref: str) -> TestEventSent:
    caller = http.authenticate(app)
    sent = send_test_event(http.platform_of(platform), ref, caller)
    return TestEventSent(
        deliveryId=sent.delivery_id,
        succeeded=sent.succeeded,
        statusCode=sent.status_code,
        error=sent.error,
        durationMs=sent.duration_ms,
    )


@app.post("/subscriptions/<subscriptionRef>/test", responses=http.ANSWER)
def test_cloud(subscriptionRef: str) -> TestEventSent:
    return _send(None, subscriptionRef)


@app.post("/subscriptions/<platformType>/<subscriptionRef>/test", responses=http.ANSWER)
def test_platform(platformType: str, subscriptionRef: str) -> TestEventSent:
    return _send(platformType, subscriptionRef)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
