"""Each API's $default route answers a path or method it does not serve in its face's own error shape."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Function


@pytest.mark.parametrize(
    ("face", "method", "path", "expected"),
    [
        ("uai", "GET", "/uai/2.0/nowhere", {"key": "request.notFound"}),
        ("uai", "DELETE", "/uai/2.0/updates/statusLog", {"key": "request.notFound"}),  # known path, other method
        ("densify", "GET", "/nowhere", {"status": 404}),
        ("thingspace", "GET", "/api/m2m/v1/nowhere", {"fault": {"code": "900906"}}),
        ("thingspace", "PUT", "/api/m2m/v1/session/login", {"fault": {"code": "900906"}}),
    ],
)
def test_unknown_paths_and_methods_answer_404_in_the_face_shape(
    aws: None, face: str, method: str, path: str, expected: dict[str, object]
) -> None:
    answer = Function(f"{face}_route_not_found").http(method, path, route="$default")
    assert answer["statusCode"] == 404
    assert answer["headers"]["Content-Type"] == "application/json"
    body = json.loads(answer["body"])
    for key, value in expected.items():
        if isinstance(value, dict):
            assert {k: body[key][k] for k in value} == value
        else:
            assert body[key] == value
    assert path in json.dumps(body)
