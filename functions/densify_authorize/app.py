"""POST /authorize: a user name and password for an API token valid 60 minutes."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import json_response
from pollgate.densify import http
from pollgate.densify.auth import log_in
from pollgate.densify.models import AuthorizeRequest

logger = Logger()
app = http.resolver()


@app.post("/authorize")
def authorize(credentials: Annotated[AuthorizeRequest, Body()]) -> Response[Any]:
    http.require_json(app)
    token = log_in(credentials.userName, credentials.pwd)
    return json_response(200, {"apiToken": token.token, "expires": token.expires_ms, "status": 200})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
