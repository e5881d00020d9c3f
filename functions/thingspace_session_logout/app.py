"""POST /api/m2m/v1/session/logout: end the session named by VZ-M2M-Token at once."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.auth import logout
from pollgate.thingspace.models import SessionToken

logger = Logger()
app = http.resolver()


@app.post("/api/m2m/v1/session/logout", responses=http.ANSWER)
def post_logout() -> SessionToken:
    http.authenticate_client(app)
    token = http.session_token(app)
    logout(token)
    return SessionToken(sessionToken=str(token))  # logout refused a missing token


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
