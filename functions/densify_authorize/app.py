"""POST /authorize: a user name and password for an API token valid 60 minutes."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http
from pollgate.densify.auth import log_in
from pollgate.densify.models import ApiToken, AuthorizeRequest

logger = Logger()
app = http.resolver()


@app.post("/authorize", responses=http.ANSWER)
def authorize(credentials: Annotated[AuthorizeRequest, Body()]) -> ApiToken:
    http.require_json(app)
    token = log_in(credentials.userName, credentials.pwd)
    return ApiToken(apiToken=token.token, expires=token.expires_ms)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
