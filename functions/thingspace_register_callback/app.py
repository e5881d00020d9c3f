"""POST /api/m2m/v1/callbacks/{accountname}: register the account's listener for a service."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import documented_body
from pollgate.thingspace import http
from pollgate.thingspace.callbacks import register_callback
from pollgate.thingspace.models import CallbackRegistered, CallbackRegistration

logger = Logger()
app = http.resolver()


@app.post(
    "/api/m2m/v1/callbacks/<accountname>",
    openapi_extensions=documented_body(CallbackRegistration),
    responses=http.ANSWER,
)
def post_callback(accountname: str) -> CallbackRegistered:
    session = http.authenticate_m2m(app)
    registration = http.parse_body(app, CallbackRegistration)
    return register_callback(accountname, registration, session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
