"""POST /subscriptions[/{cloud|containers}]/{subscriptionRef}/deliveries/recover {since, until?}: re-send every push
that failed for good in the window, as an operation (202 + its URL + Retry-After); GET .../recoveries/{recoveryId}:
202 while it runs, 200 with the count re-sent (ours, not the vendor's)."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.webhook_tools import recover, recovery_status
from pollgate.webhooks.http import polled, polled_responses
from pollgate.webhooks.models import RecoveryRequest, RecoveryView

logger = Logger()
app = http.resolver()
POLLED = polled_responses(http.DensifyError)


def _recover(platform: str | None, ref: str, request: RecoveryRequest) -> Response[RecoveryView]:
    http.require_json(app)
    caller = http.authenticate(app)
    return polled(recover(http.platform_of(platform), ref, caller, request))


def _status(platform: str | None, ref: str, recovery_id: str) -> Response[RecoveryView]:
    caller = http.authenticate(app)
    return polled(recovery_status(http.platform_of(platform), ref, recovery_id, caller))


@app.post("/subscriptions/<subscriptionRef>/deliveries/recover", responses=POLLED)
def recover_cloud(subscriptionRef: str, request: Annotated[RecoveryRequest, Body()]) -> Response[RecoveryView]:
    return _recover(None, subscriptionRef, request)


@app.post("/subscriptions/<platformType>/<subscriptionRef>/deliveries/recover", responses=POLLED)
def recover_platform(
    platformType: str, subscriptionRef: str, request: Annotated[RecoveryRequest, Body()]
) -> Response[RecoveryView]:
    return _recover(platformType, subscriptionRef, request)


@app.get("/subscriptions/<subscriptionRef>/recoveries/<recoveryId>", responses=POLLED)
def status_cloud(subscriptionRef: str, recoveryId: str) -> Response[RecoveryView]:
    return _status(None, subscriptionRef, recoveryId)


@app.get("/subscriptions/<platformType>/<subscriptionRef>/recoveries/<recoveryId>", responses=POLLED)
def status_platform(platformType: str, subscriptionRef: str, recoveryId: str) -> Response[RecoveryView]:
    return _status(platformType, subscriptionRef, recoveryId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
