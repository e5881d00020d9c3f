"""Every HttpApi route of the template on one loopback port, through SAM CLI's own API Gateway emulator.

SAM's LocalApigwService builds the payload-2.0 events `sam local start-api` builds and turns the function's
answer back into HTTP; it calls any runner with `invoke(name, event_json, stdout=, stderr=)` and
`is_debugging()`. Ours runs the function in process. Its `run()` installs signal handlers (main thread only),
so the Flask app it builds with `create()` is served by our own threaded werkzeug server instead.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, got_request_exception, has_request_context, make_response, request
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.lambdafn.exceptions import FunctionNotFound

from pollgate_local import adapters
from pollgate_local.functions import INTEGRATION_TIMED_OUT, FunctionError
from pollgate_local.gateway_limits import (
    INTEGRATION_TIMEOUT_SECONDS,
    SERVICE_UNAVAILABLE,
    GatewayLimits,
    header_refusing_handler,
)
from pollgate_local.openapi import add_document_routes
from pollgate_local.servers import BackgroundServer
from pollgate_local.stack import LocalStack, TemplateError

log = logging.getLogger("pollgate_local")

_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

RequestLogger = Callable[[str], None]
UNAVAILABLE = json.dumps(SERVICE_UNAVAILABLE)


def _print_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class InProcessRunner:
    """The runner LocalApigwService calls: the route's function, run in this process."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self.current = threading.local()  # which function the request in this thread reached, for the log line

    def invoke(
        self,
        function_name: str,
        event: str,
        *,
        stdout: StreamWriter | None = None,
        stderr: StreamWriter | None = None,
        **_: Any,
    ) -> None:
        self.current.function = function_name
        function = self._stack.function(function_name)
        if function is None:
            raise FunctionNotFound(f"no function {function_name}")
        try:
            answer: Any = function.invoke(as_http_api_sends_it(json.loads(event)), timeout=INTEGRATION_TIMEOUT_SECONDS)
        except FunctionError as error:
            log.error("%s failed: %s\n%s", function_name, error, "".join(error.stack_trace))
            if error.error_type == INTEGRATION_TIMED_OUT:
                answer = {"statusCode": 503, "headers": {"content-type": "application/json"}, "body": UNAVAILABLE}
            else:
                # What the Lambda service hands API Gateway for an unhandled error; SAM answers it with a 5xx.
                answer = {"errorType": error.error_type, "errorMessage": error.message}
        if stdout is not None:
            stdout.write_str(json.dumps(answer))

    def is_debugging(self) -> bool:
        return False


# The only content types an HTTP API hands a function as text; every other body (form-urlencoded and a missing
# Content-Type included) arrives base64-encoded with isBase64Encoded true. Checked against AWS by others:
# ministackorg/ministack pull request 766.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


def as_http_api_sends_it(event: dict[str, Any]) -> dict[str, Any]:
    """Correct SAM's payload-2.0 event where it differs from API Gateway's HTTP API.

    SAM keeps header names as sent, reports `timeEpoch` in seconds and a made-up user agent, and decodes every
    body as UTF-8 text. Called inside the Flask request, so the raw request is at hand.
    """
    if event.get("version") != "2.0" or not has_request_context():
        return event
    event["headers"] = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    event["headers"].setdefault("x-forwarded-for", request.remote_addr or "127.0.0.1")
    event["headers"]["x-forwarded-port"] = str(request.host.rpartition(":")[2] or "80")
    context = event.get("requestContext") or {}
    context.setdefault("http", {})["userAgent"] = request.headers.get("User-Agent", "")
    if isinstance(context.get("timeEpoch"), int) and context["timeEpoch"] < 10**12:
        context["timeEpoch"] = int(time.time() * 1000)
    raw = request.get_data()
    if not raw:
        event.pop("body", None)
        event["isBase64Encoded"] = False
        return event
    mimetype = request.mimetype or ""
    if mimetype.startswith("text/") or mimetype in _TEXT_TYPES:
        try:
            event["body"], event["isBase64Encoded"] = raw.decode("utf-8"), False
            return event
        except UnicodeDecodeError:
            pass
    event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    return event


def check_routes(routes: Iterable[tuple[str, str, str, str]]) -> None:
    """Routes of different APIs (or functions) that would answer the same request make the start fail."""
    owners: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for api_id, method, path, function in routes:
        if path == DEFAULT_ROUTE:  # each API's own; on the one port, DefaultRoutes picks it by path
            continue
        shape = re.sub(r"\{[^}/]+\}", "{}", path.rstrip("/") or "/")  # /a/{x} and /a/{y} are one route
        for each in _HTTP_METHODS if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else (method,):
            owners[(each, shape)].add((api_id, function))
    clashes = [
        f"{method} {path}: " + ", ".join(f"{api}/{fn}" for api, fn in sorted(owner))
        for (method, path), owner in sorted(owners.items())
        if len(owner) > 1
    ]
    if clashes:
        raise TemplateError("HTTP routes collide on the one local port: " + "; ".join(clashes))


class LocalHttpApi:
    """The template's HTTP APIs on one loopback port; one log line per request."""

    def __init__(self, stack: LocalStack, port: int = 3000, *, log_line: RequestLogger = _print_line) -> None:
        check_routes(stack.http_routes())
        self._runner = InProcessRunner(stack)
        self._defaults = DefaultRoutes(stack)
        api = stack.api()
        api.routes = [route for route in api.routes if route.path != DEFAULT_ROUTE]  # SAM serves only one
        # SAM then hands every body over as base64 and never fails on bytes that are not UTF-8;
        # as_http_api_sends_it decides, from the raw request, what the function really gets.
        api.binary_media_types_set.add("*/*")
        self._service = LocalApigwService(api, self._runner, port=port, host="127.0.0.1")
        self._service.create()
        app = adapters.flask_app_of(self._service)
        # An exception in the emulator itself is answered 500 by Flask; the console must say what it was.
        got_request_exception.connect(_log_exception, app)
        # An unknown route (or method) goes to the API's $default route, as on API Gateway.
        app.register_error_handler(404, self._defaults.answer)
        app.register_error_handler(405, self._defaults.answer)
        add_document_routes(app, stack)  # /openapi/<face>.json, /docs/<face> (Swagger UI)
        self._flask = GatewayLimits(app, stack.resources(), stack.http_routes(), api_of=self._defaults.api_of)
        self._log_line = log_line
        self._server = BackgroundServer(
            self._logged,
            port,
            flag="--port",
            name="http-api",
            request_handler=header_refusing_handler(self._defaults.headers_refused),
        )

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> str:
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _logged(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        self._runner.current.function = "-"
        status: list[str] = []

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code.split(" ", 1)[0])
            return start_response(code, headers, exc_info)

        body = self._flask(environ, capture)
        elapsed = (time.perf_counter() - started) * 1000
        self._log_line(
            f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} {status[0] if status else '-'} "
            f"{elapsed:.1f}ms {self._runner.current.function}"
        )
        return body


DEFAULT_ROUTE = "$default"


def _log_exception(sender: Any, exception: BaseException, **_: Any) -> None:
    log.error("the HTTP API emulator failed on %s %s", request.method, request.path, exc_info=exception)


class DefaultRoutes:
    """Every API's `$default` function, on the one local port: a path no route serves goes to the API whose routes
    share the most leading segments with it (ties: the first API of the template), as if sent to that API alone.
    An API without a $default route answers as API Gateway does, `404 {"message": "Not Found"}`."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        routes = stack.http_routes()
        self._functions = {api: function for api, _, path, function in routes if path == DEFAULT_ROUTE}
        self._paths = [
            (api, [part for part in path.split("/") if part]) for api, _, path, _ in routes if path != DEFAULT_ROUTE
        ]

    def api_of(self, path: str) -> str | None:
        parts = [part for part in path.split("/") if part]
        best, best_score = None, -1
        for api, route in self._paths:
            score = 0
            for mine, theirs in zip(parts, route, strict=False):
                if mine != theirs and not theirs.startswith("{"):
                    break
                score += 1
            if score > best_score:
                best, best_score = api, score
        return best

    def _function(self, path: str) -> tuple[str | None, Any]:
        api = self.api_of(path)
        return api, self._stack.function(self._functions[api]) if api in self._functions else None

    @staticmethod
    def _event(
        api: str | None, method: str, path: str, headers: dict[str, str], query: str = "", raw: bytes = b""
    ) -> dict[str, Any]:
        return {
            "version": "2.0",
            "routeKey": DEFAULT_ROUTE,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "routeKey": DEFAULT_ROUTE,
                "stage": "$default",
                "requestId": str(uuid.uuid4()),
                "apiId": api,
                "timeEpoch": int(time.time() * 1000),
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            },
            "body": base64.b64encode(raw).decode() if raw else None,
            "isBase64Encoded": bool(raw),
        }

    @staticmethod
    def _parts(answer: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = answer.get("body") or ""
        data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
        return int(answer.get("statusCode", 500)), {k: str(v) for k, v in (answer.get("headers") or {}).items()}, data

    def answer(self, _: Any) -> Response:
        api, function = self._function(request.path)
        if function is None:
            response = make_response(json.dumps({"message": "Not Found"}), 404)
            response.headers["Content-Type"] = "application/json"
            return response
        event = self._event(
            api,
            request.method,
            request.path,
            dict(request.headers.items()),
            request.query_string.decode("latin-1"),
            request.get_data(),
        )
        event["queryStringParameters"] = dict(request.args.items()) or None
        event["requestContext"]["http"]["sourceIp"] = request.remote_addr or "127.0.0.1"
        status, headers, data = self._parts(function.invoke(as_http_api_sends_it(event)))
        response = make_response(data, status)
        for name, value in headers.items():
            response.headers[name] = value
        return response

    def headers_refused(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        """A request whose headers the server could not read (a line over 64 KiB, over 100 headers): the face's
        431, from the API's $default function handed headers past the faces' own limit (pollgate.api)."""
        from pollgate.api import MAX_HEADER_BYTES

        path = path.split("?", 1)[0] or "/"
        api, function = self._function(path)
        if function is None:
            raise LookupError(f"no $default route answers {path}")
        oversized = {"x-pollgate-refused-headers": "x" * (MAX_HEADER_BYTES + 1)}
        return self._parts(function.invoke(self._event(api, method, path, oversized)))
