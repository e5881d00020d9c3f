"""Requests refused before parsing: sizes, encodings and nesting that would otherwise reach json.loads."""

from __future__ import annotations

import base64
import json

import pytest
from pollgate.api import MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_JSON_DEPTH, json_depth, request_problem


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ("[]", 1),
        ("1", 0),
        ('{"a": [1, {"b": []}]}', 4),
        ('"[[[[["', 0),
        ('{"a": "\\\\"}', 1),
        ('{"a": "\\"[[["}', 1),
        ("[" * 40 + "]" * 40, 40),
    ],
)
def test_json_depth_counts_only_structure(text: str, depth: int) -> None:
    assert json_depth(text) == depth
    if depth:
        json.loads(text)


def event(
    body: str | None = None, *, encoded: bool = False, headers: dict[str, str] | None = None
) -> dict[str, object]:
    return {"headers": headers or {"content-type": "application/json"}, "body": body, "isBase64Encoded": encoded}


def test_ordinary_requests_pass() -> None:
    assert request_problem(event('{"a": 1}')) is None
    assert request_problem(event(None)) is None
    assert request_problem(event(base64.b64encode(b'{"a": 1}').decode(), encoded=True)) is None


def test_oversized_body_is_413() -> None:
    assert request_problem(event("x" * (MAX_BODY_BYTES + 1)))[0] == 413  # type: ignore[index]


def test_oversized_headers_are_431() -> None:
    assert request_problem(event("{}", headers={"x-big": "y" * MAX_HEADER_BYTES}))[0] == 431  # type: ignore[index]


def test_invalid_utf8_is_400() -> None:
    body = base64.b64encode(b'{"a": "\xff\xfe"}').decode()
    assert request_problem(event(body, encoded=True)) == (400, "the body is not valid UTF-8")


def test_invalid_base64_is_400() -> None:
    assert request_problem(event("%%%not base64", encoded=True))[0] == 400  # type: ignore[index]


def test_deep_json_is_400_before_the_parser_recurses() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert request_problem(event(deep)) == (400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
