"""DELETE /api/m2m/v1/callbacks/{accountname}/name/{serviceName}: stop sending a service's callbacks."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.callbacks import delete_callback
from pollgate.thingspace.models import CallbackDeleted

logger = Logger()
app = http.resolver()


@app.delete("/api/m2m/v1/callbacks/<accountname>/name/<serviceName>", responses=http.ANSWER)
def remove_callback(accountname: str, serviceName: str) -> CallbackDeleted:
    session = http.authenticate_m2m(app)
    return delete_callback(accountname, serviceName, session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
