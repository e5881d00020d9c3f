"""Multipart bodies Powertools' parser would answer with a bare ValueError (a 500) are refused before parsing."""

from __future__ import annotations

import pytest
from pollgate.api import request_problem


@pytest.mark.parametrize(
    ("content_type", "body", "base64_encoded", "problem"),
    [
        ("multipart/form-data", "{}", False, "a multipart/form-data body needs a boundary"),
        ("multipart/form-data", "", False, "a multipart/form-data body needs a boundary"),
        ("multipart/form-data; boundary=x", "--x\r\n\u20ac", False, "a multipart/form-data body must be sent as bytes"),
    ],
)
def test_a_multipart_body_powertools_cannot_parse_is_400(
    content_type: str, body: str, base64_encoded: bool, problem: str
) -> None:
    event = {"headers": {"content-type": content_type}, "body": body, "isBase64Encoded": base64_encoded}
    assert request_problem(event) == (400, problem)


@pytest.mark.parametrize(
    ("content_type", "body", "base64_encoded"),
    [
        ("multipart/form-data; boundary=x", "--x\r\n\u00e9", False),  # latin-1 text: Powertools parses it
        ("multipart/form-data; boundary=x", "LS14DQo=", True),
        ("application/json", '{"a": "\u20ac"}', False),
    ],
)
def test_other_bodies_go_on_to_parsing(content_type: str, body: str, base64_encoded: bool) -> None:
    assert (
        request_problem({"headers": {"content-type": content_type}, "body": body, "isBase64Encoded": base64_encoded})
        is None
    )
