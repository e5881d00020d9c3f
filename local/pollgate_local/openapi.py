"""One OpenAPI document per HTTP API of the template, generated from the handlers' own Powertools routes and models.

Which functions serve which API, and on which paths, comes from the template (`LocalStack.http_routes()`).
Each function's module is loaded in a namespace of its own (`LocalFunction.load_module`, as the runtime loads
it) and its resolver's `get_openapi_schema()` read. A handler's route may be more general than the template's
(`/subscriptions/<platformType>/<ref>` serves `/subscriptions/cloud/{subscriptionRef}`): each template route
takes the handler operation that matches it, with the path parameters the template fixes removed. Powertools'
`OpenAPIMerge` then merges the functions of one API into its document.

`python -m pollgate_local.openapi` (`make openapi`) writes `openapi/<face>.json`; `pollgate run` serves the same
documents at `/openapi/<face>.json` and Swagger UI at `/docs/<face>`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest.mock import patch

from aws_lambda_powertools.event_handler.openapi import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import __file__ as _swagger_ui_module
from flask import Flask, Response, request
from pollgate.api import BODY_SCHEMAS

from pollgate_local.stack import ROOT, LocalStack, TemplateError

DOCUMENTS_DIR = ROOT / "openapi"
# The paths the runtime serves the documents on; no route of the template may start with them.
JSON_PREFIX, DOCS_PREFIX = "/openapi/", "/docs/"
# Powertools documents its own 422 body for every validated route; the faces answer invalid input in their own
# shape instead (FaceErrors), so that response and the schemas only it uses are left out.
_POWERTOOLS_VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"
_SCHEMA_REF = "#/components/schemas/"
_SWAGGER_UI = Path(_swagger_ui_module).parent


class DocumentError(TemplateError):
    """A template route no handler route serves, or two that serve it, or two models with one name."""


@dataclass(frozen=True)
class TemplateRoute:
    api_id: str
    method: str
    path: str
    function: str


def face_name(api_id: str) -> str:
    """`UaiApi` -> `uai`: the document's file and URL name."""
    return api_id.removesuffix("Api").lower()


def generate(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Every HTTP API of the provisioned `stack` -> its OpenAPI document, by face name."""
    routes: dict[str, list[TemplateRoute]] = defaultdict(list)
    for api_id, method, path, function in _checked_routes(stack):
        routes[api_id].append(TemplateRoute(api_id, method.lower(), path, function))
    per_function: dict[str, tuple[dict[str, Any], str]] = {}
    for function in sorted({route.function for api in routes.values() for route in api}):
        module, _ = stack.functions[function].load_module("openapi")
        schema = json.loads(module.app.get_openapi_json_schema())
        per_function[function] = (schema, (module.__doc__ or "").strip())
    return {face_name(api_id): _document(api_id, api_routes, per_function) for api_id, api_routes in routes.items()}


def _checked_routes(stack: LocalStack) -> list[tuple[str, str, str, str]]:
    # A $default route answers what no document describes (an unknown path, in the face's error shape).
    routes = [route for route in stack.http_routes() if route[2] != "$default"]
    for api_id, method, path, _ in routes:
        if path.startswith((JSON_PREFIX, DOCS_PREFIX)):
            raise DocumentError(f"{method} {path} ({api_id}): {JSON_PREFIX} and {DOCS_PREFIX} are the runtime's")
    return routes


def _document(
    api_id: str, routes: list[TemplateRoute], per_function: dict[str, tuple[dict[str, Any], str]]
) -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=f"pollgate {api_id}",
        version=version("pollgate"),
        on_conflict="error",
        description=f"The {api_id} of pollgate's template.yaml, generated from its handlers (`make openapi`).",
    )
    components: dict[str, Any] = {}
    by_function: dict[str, list[TemplateRoute]] = defaultdict(list)
    for route in routes:
        by_function[route.function].append(route)
    for function, function_routes in by_function.items():
        schema, docstring = per_function[function]
        paths: dict[str, dict[str, Any]] = defaultdict(dict)
        own = schema.setdefault("components", {}).setdefault("schemas", {})
        for route in function_routes:
            operation = _operation_for(route, schema.get("paths", {}))
            operation.setdefault("description", docstring)
            for name, definition in operation.pop(BODY_SCHEMAS, {}).items():  # pollgate.api.documented_body
                if own.setdefault(name, definition) != definition:
                    raise DocumentError(f"{function}: two different models are named {name}")
            paths[route.path][route.method] = operation
        for name, definition in own.items():
            if components.setdefault(name, definition) != definition:
                raise DocumentError(f"{api_id}: two different models are named {name} ({function} and another)")
        merge.add_schema({"paths": dict(paths), "components": schema.get("components", {})})
    return _tidy(merge.get_openapi_schema())


def _operation_for(route: TemplateRoute, paths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The handler's operation serving `route`, specialised to the template's path."""
    matches = []
    for handler_path, operations in paths.items():
        fixed = _fixed_parameters(route.path, handler_path)
        if fixed is not None and route.method in operations:
            matches.append((len(fixed), handler_path, fixed))
    matches.sort(key=lambda match: match[0])
    if not matches or (len(matches) > 1 and matches[0][0] == matches[1][0]):
        found = ", ".join(path for _, path, _ in matches) or "none"
        raise DocumentError(f"{route.method.upper()} {route.path} ({route.function}): handler routes matching: {found}")
    _, handler_path, fixed = matches[0]
    operation: dict[str, Any] = copy.deepcopy(paths[handler_path][route.method])
    parameters = [p for p in operation.get("parameters", []) if not (p.get("in") == "path" and p["name"] in fixed)]
    if parameters:
        operation["parameters"] = parameters
    else:
        operation.pop("parameters", None)
    operation["summary"] = f"{route.method.upper()} {route.path}"
    operation["operationId"] = re.sub(r"[^A-Za-z0-9]+", "_", f"{route.method} {route.path}").strip("_")
    return operation


def _fixed_parameters(template_path: str, handler_path: str) -> dict[str, str] | None:
    """The handler's path parameters the template path fixes to literals, or None if it does not match."""
    template_parts, handler_parts = template_path.strip("/").split("/"), handler_path.strip("/").split("/")
    if len(template_parts) != len(handler_parts):
        return None
    fixed = {}
    for ours, theirs in zip(template_parts, handler_parts, strict=True):
        parameter = re.fullmatch(r"\{(\w+)\}", theirs)
        if parameter is None:
            if ours != theirs:
                return None
        elif re.fullmatch(r"\{\w+\}", ours) is None:
            fixed[parameter.group(1)] = ours
        elif ours != theirs:
            return None  # both parameters, named differently: the handler would read the wrong name
    return fixed


# Every route sits behind the stage's throttle (and the credential routes behind lower ones of their own): over it,
# API Gateway answers this itself and no function runs, so no face shapes it.
GATEWAY_THROTTLED: dict[str, Any] = {
    "description": "Throttled by API Gateway (the stage's or the route's rate and burst); no function ran.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"message": {"type": "string", "const": "Too Many Requests"}},
                "required": ["message"],
            }
        }
    },
}


def _tidy(document: dict[str, Any]) -> dict[str, Any]:
    """Powertools' 422 left out, response codes in order, and only the schemas the document still uses."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = {
                code: answer
                for code, answer in operation["responses"].items()
                if _POWERTOOLS_VALIDATION_ERROR not in json.dumps(answer)
            }
            responses.setdefault("429", GATEWAY_THROTTLED)
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.get("components", {}).get("schemas", {})
    used: set[str] = set()
    pending = _references({key: value for key, value in document.items() if key != "components"})
    while pending:
        name = pending.pop()
        if name not in used and name in schemas:
            used.add(name)
            pending |= _references(schemas[name])
    if schemas:
        document["components"]["schemas"] = {name: schemas[name] for name in sorted(used)}
    return document


def _references(node: Any) -> set[str]:
    text = json.dumps(node)
    return set(re.findall(re.escape(_SCHEMA_REF) + r'([^"]+)"', text))


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class DocumentServer:
    """The documents of a running stack, generated on first request: `/openapi/<face>.json` and `/docs/<face>`."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._documents: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def documents(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._documents is None:
                self._documents = generate(self._stack)
            return self._documents

    def json(self, face: str) -> tuple[int, str, str]:
        """(status, content type, body) for GET /openapi/<face>.json."""
        document = self.documents().get(face)
        if document is None:
            return 404, "application/json", json.dumps({"message": "Not Found"})
        return 200, "application/json", render(document)

    def swagger_ui(self, face: str) -> tuple[int, str, str]:
        """Swagger UI for one face, its script and style inlined from Powertools' copy: no CDN, works offline."""
        document = self.documents().get(face)
        if document is None:
            return 404, "application/json", json.dumps({"message": "Not Found"})
        html = generate_swagger_html(
            json.dumps(document),
            (_SWAGGER_UI / "swagger-ui-bundle.min.js").read_text(),
            (_SWAGGER_UI / "swagger-ui.min.css").read_text(),
            swagger_base_url="",
            oauth2_config=None,
        )
        return 200, "text/html; charset=utf-8", html


def add_document_routes(app: Flask, stack: LocalStack) -> None:
    """GET /openapi/<face>.json and /docs/<face> on the runtime's Flask app (SAM's emulator of the HTTP APIs)."""
    _checked_routes(stack)  # at start, not at the first request for a document
    server = DocumentServer(stack)

    def answer(status_type_body: tuple[int, str, str]) -> Response:
        status, content_type, body = status_type_body
        return Response(body, status=status, content_type=content_type)

    app.add_url_rule(
        JSON_PREFIX + "<face>.json", "pollgate_openapi_json", lambda face: answer(server.json(face)), methods=["GET"]
    )

    def docs(face: str) -> Response:
        # Swagger UI shows its document's address as /docs/<face>?format=json: that answers the JSON too.
        return answer(server.json(face) if request.args.get("format") == "json" else server.swagger_ui(face))

    app.add_url_rule(DOCS_PREFIX + "<face>", "pollgate_openapi_docs", docs, methods=["GET"])


def write(documents: dict[str, dict[str, Any]], folder: Path = DOCUMENTS_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for face, document in sorted(documents.items()):
        path = folder / f"{face}.json"
        path.write_text(render(document))
        written.append(path)
    return written


def generate_offline() -> dict[str, dict[str, Any]]:
    """The documents of the repository's template, on a throwaway in-memory stack (no runtime needed)."""
    from moto import mock_aws

    from pollgate_local.environment import RUNTIME_ENVIRONMENT
    from pollgate_local.stack import MOTO_CONFIG

    with patch.dict(os.environ, RUNTIME_ENVIRONMENT), mock_aws(config=MOTO_CONFIG), LocalStack() as stack:
        stack.provision()
        return generate(stack)


def main() -> int:
    for path in write(generate_offline()):
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
