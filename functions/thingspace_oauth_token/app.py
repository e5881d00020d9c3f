"""POST /api/ts/v1/oauth2/token: client credentials (Basic auth) for a one-hour bearer token, the same all hour."""

from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import JSON, documented_body
from pollgate.thingspace import http
from pollgate.thingspace.auth import issue_token
from pollgate.thingspace.models import AccessToken, TokenRequest

FORM = "application/x-www-form-urlencoded"

logger = Logger()
app = http.resolver()


@app.post("/api/ts/v1/oauth2/token", openapi_extensions=documented_body(TokenRequest, FORM), responses=http.ANSWER)
def post_token() -> Response[AccessToken]:
    form = parse_qs(app.current_event.decoded_body or "")
    # The vendor's form body; some clients put it in the query string instead.
    grant_type = next(iter(form.get("grant_type", [])), None) or app.current_event.get_query_string_value("grant_type")
    token = issue_token(app.current_event.headers.get("authorization"), grant_type)
    return Response(status_code=200, content_type=JSON, body=token.body(), headers={"Cache-Control": "no-store"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
