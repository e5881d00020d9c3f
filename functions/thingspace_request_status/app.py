"""GET /api/m2m/v1/accounts/{accountname}/requests/{requestID}/status: Pending, Success or Failed."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.actions import request_status
from pollgate.thingspace.http import ThingSpaceError
from pollgate.thingspace.models import RequestStatus

logger = Logger()
app = http.resolver()


@app.get(
    "/api/m2m/v1/accounts/<accountname>/requests/<requestID>/status",
    responses=ThingSpaceError.responses(description="The request's status"),
)
def get_status(accountname: str, requestID: str) -> RequestStatus:
    session = http.authenticate_m2m(app)
    return RequestStatus(requestId=requestID, status=request_status(accountname, requestID, session))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
