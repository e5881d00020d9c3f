"""POST /api/m2m/v1/devices/actions/{activate|deactivate|suspend|restore}: answer {requestId} at once."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import documented_body, idempotent_request
from pollgate.observability import metrics
from pollgate.thingspace import http
from pollgate.thingspace.actions import submit_device_action
from pollgate.thingspace.http import ThingSpaceError
from pollgate.thingspace.kinds import DeviceAction
from pollgate.thingspace.models import DeviceActionRequest, RequestId

logger = Logger()
app = http.resolver()


@app.post(
    "/api/m2m/v1/devices/actions/<action>",
    openapi_extensions=documented_body(DeviceActionRequest),
    responses=ThingSpaceError.responses(
        description="Accepted: poll its status, or wait for the CarrierService callback"
    ),
)
def post_action(action: DeviceAction) -> RequestId:
    session = http.authenticate_m2m(app)
    request = http.parse_body(app, DeviceActionRequest)
    return RequestId(requestId=submit_device_action(action, request, session, idempotent_request(app)))


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
