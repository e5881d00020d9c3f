"""POST /api/m2m/v1/callbacks/{accountname}/name/{serviceName}/test: send a sample callback to the listener now,
once, recorded like any callback attempt (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.listener_tools import send_test
from pollgate.thingspace.models import ListenerTestSent

logger = Logger()
app = http.resolver()


@app.post("/api/m2m/v1/callbacks/<accountname>/name/<serviceName>/test", responses=http.ANSWER)
def test_event(accountname: str, serviceName: str) -> ListenerTestSent:
    session = http.authenticate_m2m(app)
    return send_test(accountname, serviceName, session)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
