"""POST /api/m2m/v1/callbacks/{accountname}/name/{serviceName}/deliveries/{deliveryId}/resend: send a callback that
failed for good again, with its original webhook-id (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.listener_tools import resend
from pollgate.thingspace.models import ListenerResent

logger = Logger()
app = http.resolver()


@app.post(
    "/api/m2m/v1/callbacks/<accountname>/name/<serviceName>/deliveries/<deliveryId>/resend", responses=http.ANSWER
)
def resend_delivery(accountname: str, serviceName: str, deliveryId: str) -> ListenerResent:
    session = http.authenticate_m2m(app)
    return resend(accountname, serviceName, deliveryId, session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
