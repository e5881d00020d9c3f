"""GET /subscriptions[/{cloud|containers}]/{subscriptionRef}?divider=&limit=: the results document, on demand."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pollgate.api import answer_check
from pollgate.densify import http
from pollgate.densify.models import ResultsDocument
from pollgate.densify.results import on_demand_results, parse_divider, parse_limit

logger = Logger()
app = http.resolver()


def _results(platform: str | None, ref: str) -> ResultsDocument:
    caller = http.authenticate(app)
    divider, limit = parse_divider(http.query(app, "divider")), parse_limit(http.query(app, "limit"))
    return on_demand_results(
        http.platform_of(platform), ref, caller, divider=divider, limit=limit, returnable=answer_check(app)
    )


@app.get("/subscriptions/<subscriptionRef>", responses=http.ANSWER)
def results_cloud(subscriptionRef: str) -> ResultsDocument:
    return _results(None, subscriptionRef)


@app.get("/subscriptions/<platformType>/<subscriptionRef>", responses=http.ANSWER)
def results(platformType: str, subscriptionRef: str) -> ResultsDocument:
    return _results(platformType, subscriptionRef)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
