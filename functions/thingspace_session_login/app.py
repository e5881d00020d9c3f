"""POST /api/m2m/v1/session/login: a user's password (with a bearer token) for a session token."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import documented_body
from pollgate.thingspace import http
from pollgate.thingspace.auth import login
from pollgate.thingspace.models import LoginRequest, SessionToken

logger = Logger()
app = http.resolver()


@app.post("/api/m2m/v1/session/login", openapi_extensions=documented_body(LoginRequest), responses=http.ANSWER)
def post_login() -> SessionToken:
    http.authenticate_client(app)
    http.require_json(app)
    credentials = http.parse_body(app, LoginRequest)
    return SessionToken(sessionToken=login(credentials.username, credentials.password))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
