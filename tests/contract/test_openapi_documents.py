"""The committed OpenAPI documents are what the handlers generate today, and they say what clients rely on."""

from __future__ import annotations

import os
from typing import Any
from unittest.mock import patch

import pytest
from moto import mock_aws
from pollgate_local.environment import RUNTIME_ENVIRONMENT
from pollgate_local.openapi import DOCUMENTS_DIR, GATEWAY_THROTTLED, face_name, generate, render
from pollgate_local.stack import MOTO_CONFIG, LocalStack

ERROR_SCHEMAS = {
    "uai": {"Outcome"},
    "densify": {"ErrorBody"},
    "thingspace": {"VendorError", "GatewayFault", "OAuthError"},
}


Route = tuple[str, str, str, str]


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, dict[str, Any]], list[Route]]:
    """What `make openapi` generates (pollgate_local.openapi.generate_offline), and the template's routes."""
    with patch.dict(os.environ, RUNTIME_ENVIRONMENT), mock_aws(config=MOTO_CONFIG), LocalStack() as stack:
        stack.provision()
        return generate(stack), stack.http_routes()


@pytest.fixture(scope="module")
def documents(generated: tuple[dict[str, dict[str, Any]], list[Route]]) -> dict[str, dict[str, Any]]:
    return generated[0]


def test_committed_documents_are_the_generated_ones(documents: dict[str, dict[str, Any]]) -> None:
    committed = {path.stem: path.read_text() for path in DOCUMENTS_DIR.glob("*.json")}
    stale = sorted(
        face
        for face in documents.keys() | committed.keys()
        if face not in documents or committed.get(face) != render(documents[face])
    )
    assert not stale, f"openapi/{{{','.join(stale)}}}.json differ from what the handlers generate: run `make openapi`"


def test_every_route_of_the_template_is_documented_under_its_own_api(
    generated: tuple[dict[str, dict[str, Any]], list[Route]],
) -> None:
    documents, routes = generated
    documented = {
        (face, method.upper(), path)
        for face, document in documents.items()
        for path, operations in document["paths"].items()
        for method in operations
    }
    # $default answers every path and method no route serves (404 in the face's shape): nothing to document
    assert documented == {(face_name(api), method, path) for api, method, path, _ in routes if path != "$default"}


def test_every_error_is_documented_in_its_face_shape_and_never_as_powertools_422(
    documents: dict[str, dict[str, Any]],
) -> None:
    for face, document in documents.items():
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                errors = {code: answer for code, answer in operation["responses"].items() if int(code) >= 400}
                assert {"400", "401", "404", "500"} <= errors.keys(), (face, method, path)
                # 429 is API Gateway's own throttle answer, documented as such: no function (and no face) shapes it.
                assert errors.pop("429", None) == GATEWAY_THROTTLED, (face, method, path)
                for code, answer in errors.items():
                    schema = answer["content"]["application/json"]["schema"]
                    refs = {ref["$ref"].rsplit("/", 1)[1] for ref in schema.get("anyOf", [schema])}
                    assert refs == ERROR_SCHEMAS[face], (face, method, path, code)
        assert "HTTPValidationError" not in document["components"]["schemas"]


def test_request_bodies_come_from_the_handlers_models(documents: dict[str, dict[str, Any]]) -> None:
    submit = documents["uai"]["paths"]["/uai/2.0/updates/statusLog"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StatusLogRequest"
    }
    report = documents["uai"]["components"]["schemas"]["StatusLogRequest"]
    assert report["properties"]["statusReason"]["maxLength"] == 100
    assert "platformType" not in str(documents["densify"]["paths"]["/subscriptions/cloud/{subscriptionRef}"])
    # A body the handler parses itself, after authentication (pollgate.api.documented_body), is documented too.
    activate = documents["thingspace"]["paths"]["/api/m2m/v1/devices/actions/activate"]["post"]
    assert activate["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeviceActionRequest"
    }
    assert {"DeviceActionRequest", "DeviceEntry", "DeviceId"} <= documents["thingspace"]["components"]["schemas"].keys()
    assert "x-pollgate" not in str(documents)
