"""GET /flexnet/operations/api/updates/update-authorization-key: the keys and where each is in its rotation."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.uai import http
from pollgate.uai.keys import list_key_views
from pollgate.uai.models import KeyList

logger = Logger()
app = http.resolver()


@app.get("/flexnet/operations/api/updates/update-authorization-key", responses=http.ANSWER)
def get_keys() -> KeyList:
    http.authenticate_admin(app)
    return KeyList(keys=list_key_views())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
