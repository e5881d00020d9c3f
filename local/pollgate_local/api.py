"""Every HttpApi route of the template on one loopback port, through SAM CLI's own API Gateway emulator.

SAM's LocalApigwService builds the payload-2.0 events `sam local start-api` builds and turns the function's
answer back into HTTP; it calls any runner with `invoke(name, event_json, stdout=, stderr=)` and
`is_debugging()`. Ours runs the function in process. Its `run()` installs signal handlers (main thread only),
so the Flask app it builds with `create()` is served by our own threaded werkzeug server instead.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, make_response
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.lambdafn.exceptions import FunctionNotFound

from pollgate_local.functions import FunctionError
from pollgate_local.openapi import add_document_routes
from pollgate_local.servers import BackgroundServer
from pollgate_local.stack import LocalStack, TemplateError

log = logging.getLogger("pollgate_local")

_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

RequestLogger = Callable[[str], None]


def _print_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class InProcessRunner:
    """The runner LocalApigwService calls: the route's function, run in this process."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self.current = threading.local()  # which function the request in this thread reached, for the log line

    def invoke(self, function_name: str, event: str, *, stdout: StreamWriter | None = None,
               stderr: StreamWriter | None = None, **_: Any) -> None:
        self.current.function = function_name
        function = self._stack.function(function_name)
        if function is None:
            raise FunctionNotFound(f"no function {function_name}")
        try:
            answer: Any = function.invoke(json.loads(event))
        except FunctionError as error:
            log.error("%s failed: %s\n%s", function_name, error, "".join(error.stack_trace))
            # What the Lambda service hands API Gateway for an unhandled error; SAM answers it with a 5xx.
            answer = {"errorType": error.error_type, "errorMessage": error.message}
        if stdout is not None:
            stdout.write_str(json.dumps(answer))

    def is_debugging(self) -> bool:
        return False


def check_routes(routes: Iterable[tuple[str, str, str, str]]) -> None:
    """Routes of different APIs (or functions) that would answer the same request make the start fail."""
    owners: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for api_id, method, path, function in routes:
        shape = re.sub(r"\{[^}/]+\}", "{}", path.rstrip("/") or "/")  # /a/{x} and /a/{y} are one route
        for each in _HTTP_METHODS if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else (method,):
            owners[(each, shape)].add((api_id, function))
    clashes = [f"{method} {path}: " + ", ".join(f"{api}/{fn}" for api, fn in sorted(owner))
               for (method, path), owner in sorted(owners.items()) if len(owner) > 1]
    if clashes:
        raise TemplateError("HTTP routes collide on the one local port: " + "; ".join(clashes))


class LocalHttpApi:
    """The template's HTTP APIs on one loopback port; one log line per request."""

    def __init__(self, stack: LocalStack, port: int = 3000, *, log_line: RequestLogger = _print_line) -> None:
        check_routes(stack.http_routes())
        self._runner = InProcessRunner(stack)
        self._service = LocalApigwService(stack.api(), self._runner, port=port, host="127.0.0.1")
        self._service.create()
        app = self._service._app
        # API Gateway's HTTP APIs answer an unknown route (or method) this way, not with REST's 403.
        app.register_error_handler(404, _not_found)
        app.register_error_handler(405, _not_found)
        add_document_routes(app, stack)  # /openapi/<face>.json, /docs/<face> (Swagger UI)
        self._flask = app
        self._log_line = log_line
        self._server = BackgroundServer(self._logged, port, flag="--port", name="http-api")

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
        self._log_line(f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} {status[0] if status else '-'} "
                       f"{elapsed:.1f}ms {self._runner.current.function}")
        return body


def _not_found(_: Any) -> Response:
    response = make_response(json.dumps({"message": "Not Found"}), 404)
    response.headers["Content-Type"] = "application/json"
    return response
