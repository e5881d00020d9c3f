"""API Gateway's throttling on the local port: a token bucket per route, as the template sets it, answering over-limit
requests `429 {"message":"Too Many Requests"}` as HTTP APIs do. A WSGI middleware in front of SAM's emulator.

Each HttpApi's `DefaultRouteSettings` (ThrottlingRateLimit, ThrottlingBurstLimit) applies to every route of the API
on its own; a route named in `RouteSettings` ("METHOD /path") has its own instead. A bucket holds up to the burst
and refills at the rate; each request takes one token or is refused. A request no route serves counts against the
`$default` route of the API `api_of` names (the one that answers it), when there is one.

Also here: headers the HTTP server refuses to read (`header_refusing_handler`), answered 431 in the face's shape.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler

TOO_MANY_REQUESTS = json.dumps({"message": "Too Many Requests"}).encode()
DEFAULT_ROUTE = "$default"


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # capacity
    tokens: float = -1.0
    updated: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, now: float) -> bool:
        with self.lock:
            if self.tokens < 0:  # a full bucket at the first request
                self.tokens, self.updated = self.burst, now
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass(frozen=True)
class ThrottledRoute:
    api: str
    method: str
    pattern: re.Pattern[str] | None  # None: the API's $default route
    bucket: TokenBucket | None  # None: not throttled


def _pattern(path: str) -> re.Pattern[str]:
    parts = [
        r"[^/]+" if re.fullmatch(r"\{\w+\}", part) else r".+" if re.fullmatch(r"\{\w+\+\}", part) else re.escape(part)
        for part in path.strip("/").split("/")
    ]
    return re.compile("/" + "/".join(parts) + "/?")


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def throttled_routes(resources: dict[str, Any], routes: Iterable[tuple[str, str, str, str]]) -> list[ThrottledRoute]:
    """Every route, with a bucket where its API (or its own RouteSettings) sets a throttle; `resources` resolved."""
    found = []
    for api, method, path, _ in routes:
        properties = (resources.get(api) or {}).get("Properties") or {}
        route_key = DEFAULT_ROUTE if path == DEFAULT_ROUTE else f"{method} {path}"
        settings = {
            **(properties.get("DefaultRouteSettings") or {}),
            **((properties.get("RouteSettings") or {}).get(route_key) or {}),
        }
        rate, burst = _number(settings.get("ThrottlingRateLimit")), _number(settings.get("ThrottlingBurstLimit"))
        bucket = None
        if rate is not None or burst is not None:  # a rate without a burst (or the reverse): the one given limits
            rate = rate if rate is not None else float("inf")
            bucket = TokenBucket(rate, burst if burst is not None else max(rate, 1.0))
        found.append(ThrottledRoute(api, method.upper(), None if path == DEFAULT_ROUTE else _pattern(path), bucket))
    # As API Gateway picks a route: the most specific first (fewer path parameters), the $default last.
    found.sort(key=lambda route: (route.pattern is None, route.pattern.pattern.count("[^/]+") if route.pattern else 0))
    return found


# An HTTP API's payload limit (API Gateway quotas: "Payload size", 10 MB), and its answer beyond it.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
TOO_LARGE = b'{"message":"Request Entity Too Large"}'
# How long an HTTP API waits for its Lambda integration (quota "Maximum integration timeout", 30 s), and its answer.
INTEGRATION_TIMEOUT_SECONDS = 30.0
SERVICE_UNAVAILABLE = {"message": "Service Unavailable"}


class GatewayLimits:
    """WSGI middleware: the template's route throttles in front of `app`."""

    def __init__(
        self,
        app: Any,
        resources: dict[str, Any],
        routes: Iterable[tuple[str, str, str, str]],
        *,
        api_of: Callable[[str], str | None] = lambda _: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._routes = throttled_routes(resources, routes)
        self._api_of = api_of
        self._clock = clock

    def route(self, method: str, path: str) -> ThrottledRoute | None:
        for route in self._routes:
            if route.pattern is not None and route.method in (method, "ANY") and route.pattern.fullmatch(path):
                return route
        api = self._api_of(path)
        return next((route for route in self._routes if route.pattern is None and route.api == api), None)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if int(environ.get("CONTENT_LENGTH") or 0) > MAX_REQUEST_BYTES:
            # API Gateway refuses it before any route or throttle sees it; the body is never read.
            start_response(
                "413 Request Entity Too Large",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(TOO_LARGE))),
                    ("Connection", "close"),
                ],
            )
            return [TOO_LARGE]
        route = self.route(str(environ.get("REQUEST_METHOD", "GET")).upper(), str(environ.get("PATH_INFO", "/")))
        if route is not None and route.bucket is not None and not route.bucket.take(self._clock()):
            start_response(
                "429 Too Many Requests",
                [("Content-Type", "application/json"), ("Content-Length", str(len(TOO_MANY_REQUESTS)))],
            )
            return [TOO_MANY_REQUESTS]
        return self._app(environ, start_response)


# ------------------------------------------------------------------------------------------ oversized headers

# Where Python's HTTP server stops reading headers (http.client): it answers 431 itself, as an HTML page, before any
# WSGI app sees the request. HeaderRefusals answers in the face's shape instead.
MAX_HEADER_LINE_BYTES = 65_536
MAX_HEADERS = 100

# (method, path) -> (status, headers, body) in the shape of the face that serves the path
HeaderRefusal = Callable[[str, str], tuple[int, dict[str, str], bytes]]


def header_refusing_handler(refusal: HeaderRefusal) -> type[WSGIRequestHandler]:
    """werkzeug's request handler, but a request whose headers the server refuses to read (a line over 64 KiB,
    more than 100 headers) is answered by `refusal`, not with http.server's HTML 431 page."""

    class HeaderRefusingHandler(WSGIRequestHandler):
        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            if code != HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
                super().send_error(code, message, explain)
                return
            try:
                status, headers, body = refusal(str(getattr(self, "command", "GET")), str(getattr(self, "path", "/")))
            except Exception:  # never worse than the server's own answer
                super().send_error(code, message, explain)
                return
            self.log_error("code %d, message %s", code, message)
            self.close_connection = True
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in {"content-length", "connection"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", "") != "HEAD":
                self.wfile.write(body)

    return HeaderRefusingHandler
