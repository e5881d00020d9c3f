"""events/ holds a sample event for every function of the template (for `sam local invoke` and
`pollgate local invoke`), and every sample API Gateway event is a valid payload-2.0 request for its route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from pollgate_local.stack import MOTO_CONFIG, LocalStack

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with mock_aws(config=MOTO_CONFIG), LocalStack() as local:
        local.provision()
        yield local


def samples(folder: str) -> list[Path]:
    return sorted(ROOT.glob(f"events/{folder}.json")) + sorted(ROOT.glob(f"events/{folder}_*.json"))


def test_every_function_has_a_sample_event(stack: LocalStack) -> None:
    missing = [fn.code_dir.name for fn in stack.functions.values() if not samples(fn.code_dir.name)]
    assert missing == [], f"add events/<function folder>.json for: {missing}"


def test_every_sample_http_event_reaches_its_route_and_gets_a_4xx_or_better(stack: LocalStack) -> None:
    routes = {(method, path): function for _api, method, path, function in stack.http_routes()}
    defaults = {function for _api, _method, path, function in stack.http_routes() if path == "$default"}
    checked = 0
    for function in stack.functions.values():
        for sample in samples(function.code_dir.name):
            event = json.loads(sample.read_text())
            if event.get("version") != "2.0" or "routeKey" not in event:
                continue
            method, _, path = event["routeKey"].partition(" ")
            if event["routeKey"] == "$default":  # an API's catch-all: any method, any path no route serves
                assert function.logical_id in defaults, f"{sample.name}: {event['routeKey']}"
            else:
                assert routes.get((method, path)) == function.logical_id, f"{sample.name}: {event['routeKey']}"
                assert event["requestContext"]["http"]["method"] == method
            answer = stack.invoke(function.logical_id, event)
            assert answer["statusCode"] < 500, (sample.name, answer)
            checked += 1
    assert checked >= len(routes) // 2
