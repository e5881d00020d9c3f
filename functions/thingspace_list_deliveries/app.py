"""GET /api/m2m/v1/callbacks/{accountname}/name/{serviceName}/deliveries?limit=: the listener's callback attempts,
newest first (ours, not the vendor's)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.thingspace import http
from pollgate.thingspace.listener_tools import list_deliveries, parse_limit
from pollgate.thingspace.models import ListenerDeliveries

logger = Logger()
app = http.resolver()


@app.get("/api/m2m/v1/callbacks/<accountname>/name/<serviceName>/deliveries", responses=http.ANSWER)
def get_deliveries(accountname: str, serviceName: str) -> ListenerDeliveries:
    session = http.authenticate_m2m(app)
    limit = parse_limit(app.current_event.get_query_string_value("limit"))
    return list_deliveries(accountname, serviceName, session, limit=limit)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
