"""The local runtime's API Gateway throttles (pollgate_local/gateway_limits.py): a token bucket per route from the
template's DefaultRouteSettings and RouteSettings, 429 `{"message":"Too Many Requests"}` above them."""

from __future__ import annotations

import json
from typing import Any

from pollgate_local.gateway_limits import GatewayLimits, TokenBucket

RESOURCES = {
    "OneApi": {
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {
            "DefaultRouteSettings": {"ThrottlingRateLimit": "2", "ThrottlingBurstLimit": "3"},
            "RouteSettings": {"POST /login": {"ThrottlingRateLimit": 0.5, "ThrottlingBurstLimit": 1}},
        },
    },
    "OpenApi": {"Type": "AWS::Serverless::HttpApi", "Properties": {}},
}
ROUTES = [
    ("OneApi", "POST", "/login", "Login"),
    ("OneApi", "GET", "/things/{id}", "Thing"),
    ("OneApi", "GET", "/things/all", "All"),
    ("OneApi", "ANY", "$default", "Fallback"),
    ("OpenApi", "GET", "/open", "Open"),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def request(limits: GatewayLimits, method: str, path: str) -> tuple[str, bytes]:
    seen: list[str] = []
    body = b"".join(limits({"REQUEST_METHOD": method, "PATH_INFO": path}, lambda status, _: seen.append(status)))
    return seen[0], body


def test_a_bucket_holds_its_burst_and_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5) is True and bucket.take(0.5) is False  # 0.5 s at 2/s: one token
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # never more than the burst


def test_each_route_has_its_own_bucket_and_route_settings_win() -> None:
    clock = Clock()
    limits = GatewayLimits(app, RESOURCES, ROUTES, api_of=lambda path: "OneApi", clock=clock)
    assert [request(limits, "POST", "/login")[0][:3] for _ in range(2)] == ["200", "429"]
    status, body = request(limits, "POST", "/login")
    assert (status, json.loads(body)) == ("429 Too Many Requests", {"message": "Too Many Requests"})
    assert [request(limits, "GET", "/things/t-1")[0][:3] for _ in range(4)] == ["200"] * 3 + ["429"]
    assert request(limits, "GET", "/things/all")[0].startswith("200")  # the static route: a bucket of its own
    clock.now += 2
    assert request(limits, "POST", "/login")[0].startswith("200")


def test_unknown_paths_count_against_the_default_route_and_unthrottled_apis_pass() -> None:
    limits = GatewayLimits(app, RESOURCES, ROUTES, api_of=lambda path: "OneApi", clock=Clock())
    assert [request(limits, "DELETE", f"/nowhere/{n}")[0][:3] for n in range(4)] == ["200"] * 3 + ["429"]
    assert all(request(limits, "GET", "/open")[0].startswith("200") for _ in range(10))


def test_a_body_over_ten_megabytes_is_refused_before_any_route_sees_it() -> None:
    limits = GatewayLimits(app, RESOURCES, ROUTES)
    seen: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/open", "CONTENT_LENGTH": str(10 * 1024 * 1024 + 1)}
    body = b"".join(limits(environ, lambda status, _: seen.append(status)))
    assert (seen, json.loads(body)) == (["413 Request Entity Too Large"], {"message": "Request Entity Too Large"})
    environ["CONTENT_LENGTH"] = str(10 * 1024 * 1024)
    assert request_with(limits, environ) == "200 OK"


def request_with(limits: GatewayLimits, environ: dict[str, Any]) -> str:
    seen: list[str] = []
    b"".join(limits(environ, lambda status, _: seen.append(status)))
    return seen[0]
