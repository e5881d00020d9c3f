"""GET /api/m2m/v1/callbacks/{accountname}: the account's listeners (never their passwords)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.callbacks import list_callbacks
from pollgate.thingspace.models import CallbackView

logger = Logger()
app = http.resolver()


@app.get("/api/m2m/v1/callbacks/<accountname>", responses=http.ANSWER)
def get_callbacks(accountname: str) -> list[CallbackView]:
    session = http.authenticate_m2m(app)
    return list_callbacks(accountname, session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
