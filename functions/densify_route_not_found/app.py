"""The API's `$default` route: a path or method it does not serve answers 404 in the face's own shape
(`{"message", "status"}`), not API Gateway's bare `{"message": "Not Found"}`. The resolver has no routes,
so every request reaches its not-found answer (and an oversized or unreadable request its refusal)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.densify import http

logger = Logger()
app = http.resolver()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
