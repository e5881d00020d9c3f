"""Every HTTP route of every face refuses oversized, non-UTF-8, too-deep and header-bloated requests with a clear
4xx in that face's own error shape - never a 5xx (issue 6, payload limits)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from pollgate.api import MAX_BODY_BYTES, MAX_HEADER_BYTES
from pollgate_local.stack import MOTO_CONFIG, LocalStack

from tests.aws_fixtures import http_event

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Each face's error body, as API.md gives it.
SHAPES = {
    "UaiApi": {"arguments", "key", "message"},
    "DensifyApi": {"message", "status"},
    "ThingSpaceApi": {"errorCode", "errorMessage"},
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with mock_aws(config=MOTO_CONFIG), LocalStack() as local:
        local.provision()
        yield local


def concrete(path: str) -> tuple[str, dict[str, str]]:
    names = re.findall(r"{(\w+)\+?}", path)
    parameters = {name: "cloud" if name == "platformType" else "x1" for name in names}
    return re.sub(r"{(\w+)\+?}", lambda m: parameters[m.group(1)], path), parameters


ABUSES: dict[str, dict[str, Any]] = {
    "body over 1 MiB": {"body": '{"a": "' + "x" * MAX_BODY_BYTES + '"}'},
    "not UTF-8": {"raw_body": b'{"a": "\xff\xfe\xfd"}'},
    "JSON 10000 levels deep": {"body": "[" * 10_000 + "]" * 10_000},
    "headers over 16 KiB": {"body": "{}", "headers": {"x-padding": "p" * MAX_HEADER_BYTES}},
}


@pytest.mark.parametrize("abuse", sorted(ABUSES))
def test_every_route_refuses_abuse_in_its_face_shape(stack: LocalStack, abuse: str) -> None:
    checked = 0
    for api, method, path, function in stack.http_routes():
        concrete_path, parameters = concrete(path)
        event = http_event(method, concrete_path, route=path, path_parameters=parameters or None, **ABUSES[abuse])
        answer = stack.invoke(function, event)
        assert 400 <= answer["statusCode"] < 500, (abuse, method, path, answer)
        body = json.loads(answer["body"] if not answer.get("isBase64Encoded") else base64.b64decode(answer["body"]))
        shape = set(body) if not isinstance(body, dict) or "fault" not in body else {"fault"}
        assert shape in (SHAPES[api], {"fault"}), (abuse, method, path, body)
        if "status" in body:  # Densify repeats the HTTP status in its body: the two must agree
            assert body["status"] == answer["statusCode"], (abuse, method, path, body)
        checked += 1
    assert checked >= 10


# What each face answers an answer too large for Lambda: Densify's clients size their answers (a 400 saying so);
# no route of the others should answer so much (their internal error).
TOO_LARGE_STATUS = {"UaiApi": 500, "DensifyApi": 400, "ThingSpaceApi": 500}


def test_every_route_answers_through_the_guard_of_lambdas_response_limit(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the limit below any answer, every route of every face answers its face's too-large error in its own
    shape: no route can hand Lambda an answer it cannot return (the size checks: tests/unit/test_response_limit)."""
    from pollgate import api

    monkeypatch.setattr(api, "LAMBDA_RESPONSE_LIMIT_BYTES", 8)
    checked = 0
    for api_id, method, path, function in stack.http_routes():
        concrete_path, parameters = concrete(path)
        answer = stack.invoke(
            function, http_event(method, concrete_path, route=path, path_parameters=parameters or None, body={})
        )
        assert answer["statusCode"] == TOO_LARGE_STATUS[api_id], (method, path, answer)
        body = json.loads(answer["body"])
        assert set(body) in (SHAPES[api_id], {"fault"}), (method, path, body)
        checked += 1
    assert checked >= 10
