"""GET /uai/2.0/updates/statusLog/{pollingId} (or ?pollingId=): 202 while pending, 200 with the outcome when done."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.uai import http
from pollgate.uai.models import Outcome, PollingUrl
from pollgate.uai.status_log import poll_status_log

logger = Logger()
app = http.resolver()


def _answer(polling_id: str | None) -> Response[Outcome | PollingUrl]:
    if app.current_event.headers.get("authorization"):
        http.authenticate_device(app)  # no token is fine; a bad one is 401
    poll = poll_status_log(polling_id)
    return http.polled(poll.url, poll.outcome)


@app.get("/uai/2.0/updates/statusLog/<pollingId>", responses=http.POLLED)
def get_by_path(pollingId: str) -> Response[Outcome | PollingUrl]:
    return _answer(pollingId)


@app.get("/uai/2.0/updates/statusLog", responses=http.POLLED)
def get_by_query(pollingId: Annotated[str | None, Query()] = None) -> Response[Outcome | PollingUrl]:
    return _answer(pollingId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
