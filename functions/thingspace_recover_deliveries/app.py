"""POST /api/m2m/v1/callbacks/{accountname}/name/{serviceName}/deliveries/recover {since, until?}: re-send every
callback that failed for good in the window, as an operation (202 + its URL + Retry-After); GET
.../recoveries/{recoveryId}: 202 while it runs, 200 with the count re-sent (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import documented_body
from pollgate.thingspace import http
from pollgate.thingspace.listener_tools import recover, recovery_status
from pollgate.webhooks.http import polled, polled_responses
from pollgate.webhooks.models import RecoveryRequest, RecoveryView

logger = Logger()
app = http.resolver()
POLLED = polled_responses(http.ThingSpaceError)


@app.post(
    "/api/m2m/v1/callbacks/<accountname>/name/<serviceName>/deliveries/recover",
    openapi_extensions=documented_body(RecoveryRequest),
    responses=POLLED,
)
def post_recovery(accountname: str, serviceName: str) -> Response[RecoveryView]:
    session = http.authenticate_m2m(app)
    request = http.parse_body(app, RecoveryRequest)
    return polled(recover(accountname, serviceName, request, session))


@app.get("/api/m2m/v1/callbacks/<accountname>/name/<serviceName>/recoveries/<recoveryId>", responses=POLLED)
def get_recovery(accountname: str, serviceName: str, recoveryId: str) -> Response[RecoveryView]:
    session = http.authenticate_m2m(app)
    return polled(recovery_status(accountname, serviceName, recoveryId, session))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
