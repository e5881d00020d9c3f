"""POST /api/m2m/v1/callbacks/{accountname}/name/{serviceName}/secret/rotate: a new signing secret for the listener,
current at once; the replaced one still signs (a second signature) for 24 h (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.listener_tools import rotate_secret
from pollgate.thingspace.models import ListenerSecretRotated

logger = Logger()
app = http.resolver()


@app.post("/api/m2m/v1/callbacks/<accountname>/name/<serviceName>/secret/rotate", responses=http.ANSWER)
def rotate(accountname: str, serviceName: str) -> ListenerSecretRotated:
    session = http.authenticate_m2m(app)
    return rotate_secret(accountname, serviceName, session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
