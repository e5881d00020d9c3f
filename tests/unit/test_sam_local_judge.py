"""How `make sam-local` tells a function that answered from pollgate's services from one that could not reach
them, on the outputs SAM CLI 1.170 really printed (issue 11, before the template declared AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json

from tools.sam_local import ROOT, function_by_event, judge

UNREACHABLE_DENSIFY = json.dumps(
    {
        "statusCode": 503,
        "body": json.dumps({"message": "Request refused: the service is busy; retry shortly.", "status": 503}),
    }
)
UNREACHABLE_SWEEPER = json.dumps(
    {
        "errorMessage": 'Could not connect to the endpoint URL: "https://123456789012.ddb.us-east-1.amazonaws.com/"',
        "errorType": "EndpointConnectionError",
    }
)


def test_a_function_that_could_not_reach_the_services_fails() -> None:
    assert judge(UNREACHABLE_DENSIFY)[0] is False
    assert judge(UNREACHABLE_SWEEPER) == (False, "could not reach the services: EndpointConnectionError")
    assert judge("Task timed out after 10.00 seconds")[0] is False
    assert judge("")[0] is False  # no result at all


def test_an_answer_from_the_services_passes() -> None:
    assert judge('{"statusCode": 404, "body": "{\\"key\\": \\"polling.notFound\\"}"}') == (
        True,
        '404 {"key": "polling.notFound"}',
    )
    assert judge('START\n{"restarted": 0, "failed": 0}')[0] is True
    # The workers' sample events name an operation the table does not have: the worker looked, and said so.
    assert judge(json.dumps({"errorType": "LookupError", "errorMessage": "no operation x"}))[0] is True
    assert judge(json.dumps({"errorType": "ValidationError", "errorMessage": "TABLE_NAME missing"}))[0] is False


def test_every_sample_event_belongs_to_a_function() -> None:
    events = function_by_event(ROOT / "template.yaml")
    assert set(events) == set((ROOT / "events").glob("*.json"))
