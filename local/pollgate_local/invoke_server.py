"""The Lambda Invoke API (on loopback unless told another address), answering from functions that run in this process.

moto's state-machine interpreter calls `lambda:invoke` tasks through boto3, which honours
`AWS_ENDPOINT_URL_LAMBDA`; pointing that at this server makes Step Functions run the real handlers in process
(moto would otherwise start Docker). `aws lambda invoke --endpoint-url <url>` works against it too.

Usage inside a test (any `mock_aws()` block; the harness in stack.py does this for you)::

    server = LambdaInvokeServer(lookup)          # lookup: name | ARN | logical id -> Function | None
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = server.start()
    ...
    server.stop()
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from pollgate_local.functions import Function, FunctionError
from pollgate_local.servers import LOOPBACK, BackgroundServer

log = logging.getLogger("pollgate_local")

_PREFIX = "/2015-03-31/functions/"
_SUFFIX = "/invocations"

FunctionLookup = Callable[[str], Function | None]


def function_name_of(identifier: str) -> str:
    """`Name`, `Name:qualifier`, `123456789012:function:Name` or a full ARN, reduced to `Name`."""
    parts = identifier.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return parts[0]


class LambdaInvokeServer:
    """`POST /2015-03-31/functions/{name}/invocations`, answered the way real Lambda answers it."""

    def __init__(
        self, lookup: FunctionLookup, port: int = 0, *, flag: str = "--lambda-port", host: str = LOOPBACK
    ) -> None:
        self._lookup = lookup
        self._server = BackgroundServer(self._wsgi, port, flag=flag, name="lambda-invoke", host=host)

    @property
    def endpoint_url(self) -> str:
        return self._server.url

    def start(self) -> str:
        """Start serving; returns the endpoint URL (for AWS_ENDPOINT_URL_LAMBDA)."""
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LambdaInvokeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        response = self._answer(Request(environ))
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        path = request.path
        if request.method != "POST" or not path.startswith(_PREFIX) or not path.endswith(_SUFFIX):
            return _error(404, "UnknownOperationException", f"no such operation: {request.method} {path}")
        identifier = path[len(_PREFIX) : -len(_SUFFIX)]
        function = self._lookup(function_name_of(identifier))
        if function is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {identifier}")
        raw = request.get_data() or b"{}"
        try:
            event = json.loads(raw)
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            return Response(status=204)
        if invocation_type == "Event":
            threading.Thread(target=_invoke_quietly, args=(function, event), daemon=True).start()
            return Response(status=202)
        headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        try:
            result = function.invoke(event)
        except FunctionError as error:
            log.warning("%s failed: %s", function.logical_id, error)
            headers["X-Amz-Function-Error"] = "Unhandled"
            return Response(json.dumps(error.payload()), status=200, headers=headers)
        return Response(json.dumps(result), status=200, headers=headers)


def _invoke_quietly(function: Function, event: Any) -> None:
    try:
        function.invoke(event)
    except FunctionError as error:
        log.warning("%s (asynchronous) failed: %s", function.logical_id, error)


def _error(status: int, error_type: str, message: str) -> Response:
    return Response(
        json.dumps({"Type": "User", "message": message}),
        status=status,
        headers={"Content-Type": "application/json", "x-amzn-ErrorType": error_type},
    )
