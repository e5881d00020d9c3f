"""`pollgate run` in a subprocess, driven over real HTTP as a Densify client and its operator would: the operator
commands against the runtime's AWS endpoint, log-in, subscriptions, results, status, and a scheduled push that
reaches a loopback receiver through the real queue and delivery function."""

from __future__ import annotations

import gzip
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pollgate_local.client import call as loopback_call
from pollgate_local.process import RuntimeProcess
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from tests.helpers.runtime import run_operator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "layers/core/pollgate/densify/sample_records.json"
PASSWORD = "an operator-chosen password"
WAIT_SECONDS = 20.0


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    authorization = {"authorization": f"Bearer {token}"} if token else {}
    answer = loopback_call(base_url, method, path, body, {**authorization, **(headers or {})}, raw)
    return answer.status, answer.body


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess("--no-demo") as process:
        yield process


def operator(runtime: RuntimeProcess, *args: str, stdin: str = "") -> str:
    """`python -m pollgate.densify.operator ...` on the runtime, as docs/densify.md says: what it printed."""
    return run_operator(runtime, "pollgate.densify.operator", *args, stdin=stdin)


@pytest.fixture(scope="module")
def base_url(runtime: RuntimeProcess) -> str:
    operator(runtime, "add-user", "--user", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    operator(runtime, "add-user", "--user", "ops", "--password-stdin", "--admin", stdin=PASSWORD + "\n")
    assert "24 cloud records published" in operator(runtime, "load-records", "--platform", "cloud", str(SAMPLE))
    operator(runtime, "load-records", "--platform", "containers", str(SAMPLE))
    return runtime.base_url


def log_in(base_url: str, user: str) -> str:
    status, body = call(base_url, "POST", "/authorize", {"userName": user, "pwd": PASSWORD})
    assert status == 200, body
    return str(body["apiToken"])


DOWNSIZE = {
    "subscriptionName": "Downsize",
    "propertyReferences": [{"propertyID": "recommendationType", "operator": "=", "values": ["Downsize"]}],
    "returnStructure": {"properties": [{"propertyID": "currentType", "useAlias": True}]},
}


def test_operator_users_log_in_and_bad_passwords_are_401(base_url: str) -> None:
    assert log_in(base_url, "carol")
    status, body = call(base_url, "POST", "/authorize", {"userName": "carol", "pwd": "nope"})
    assert (status, body) == (401, {"message": "Unauthorized", "status": 401})
    status, body = call(
        base_url,
        "POST",
        "/authorize",
        raw=b"userName=carol",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert status == 415 and body["status"] == 415


def test_a_subscription_round_trip_over_http(base_url: str) -> None:
    carol = log_in(base_url, "carol")
    status, created = call(base_url, "POST", "/subscriptions/cloud", [DOWNSIZE], carol)
    assert status == 200, created
    ref = created[0]["subscriptionRef"]
    status, document = call(base_url, "GET", f"/subscriptions/{ref}?divider=true", token=carol)
    assert status == 200 and document["count"] == 10
    assert set(document["results"][0]) == {"Current Instance Type", "divider"}
    status, limited = call(base_url, "GET", f"/subscriptions/cloud/{ref}?limit=2", token=carol)
    assert status == 400 and limited["message"].startswith(
        "On-Demand Failure. The return count of 10 has exceeded object return limit of 2."
    )
    status, state = call(base_url, "GET", f"/subscriptions/cloud/{ref}/status", token=carol)
    assert status == 200 and state["lastTriggered"].startswith("On-Demand Failure. ")
    assert state["lastTriggered"].endswith(f" UTC {time.gmtime().tm_year}")
    replaced = {**DOWNSIZE, "subscriptionName": "Downsize (renamed)"}
    status, view = call(base_url, "PUT", f"/subscriptions/cloud/{ref}", replaced, carol)
    assert status == 200 and view["subscriptionName"] == "Downsize (renamed)"
    ops = log_in(base_url, "ops")
    assert call(base_url, "GET", f"/subscriptions/{ref}/status", token=ops)[0] == 404  # not global, not theirs
    assert call(base_url, "DELETE", f"/subscriptions/cloud/{ref}", token=carol)[0] == 204
    assert call(base_url, "GET", f"/subscriptions/{ref}/status", token=carol)[0] == 404


def test_a_scheduled_push_reaches_a_loopback_receiver_signed(
    runtime: RuntimeProcess, base_url: str, httpserver: HTTPServer
) -> None:
    carol = log_in(base_url, "carol")
    hook = {"uri": httpserver.url_for("/densify"), "authType": "bearer", "authValue": "receiver-token"}
    status, created = call(
        base_url, "POST", "/subscriptions", [{**DOWNSIZE, "subscriptionName": "Pushed", "webhook": hook}], carol
    )
    assert status == 200, created
    ref, secret = created[0]["subscriptionRef"], created[0]["signingSecret"]
    received: list[dict[str, Any]] = []

    def receive(request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer receiver-token":
            return Response("", 401)
        received.append(Webhook(secret).verify(request.get_data(), dict(request.headers)))
        return Response("", 204)

    httpserver.expect_request("/densify", method="POST").respond_with_handler(receive)
    # Fire the schedule now, as `pollgate local invoke DensifySchedulerFunction --endpoint ...` does.
    invoke = urllib.request.Request(  # noqa: S310 - the runtime's Lambda endpoint on loopback
        f"{runtime.lambda_url}/2015-03-31/functions/DensifySchedulerFunction/invocations", data=b"{}", method="POST"
    )
    with urllib.request.urlopen(invoke, timeout=30) as answer:  # noqa: S310
        assert json.loads(answer.read())["enqueued"] >= 1

    def pushed() -> dict[str, Any] | None:
        state: dict[str, Any] = call(base_url, "GET", f"/subscriptions/{ref}/status", token=carol)[1]
        return state if state["lastTriggered"].startswith("Scheduled") else None

    state = eventually(pushed, WAIT_SECONDS, interval=0.2, what="the scheduled push on the status")
    assert state["lastTriggered"].startswith("Scheduled Success. "), state
    assert state["webHookStatus"].startswith("Success. HTTP 204. ")
    assert len(received) == 1 and received[0]["count"] == 10 and received[0]["subscription"]["name"] == "Pushed"
    status, listed = call(base_url, "GET", f"/subscriptions/cloud/{ref}/deliveries", token=carol)
    assert status == 200 and [a["statusCode"] for a in listed["attempts"]] == [204]


def test_a_results_document_too_large_for_one_response_over_http(
    runtime: RuntimeProcess, base_url: str, tmp_path: Path
) -> None:
    """7 MB of results: a client without gzip is told the size in a 400, one with gzip gets the whole document
    compressed. The records go to `containers`, which no other test here reads. (3000 systems of 2.4 kB, not
    30000 of 240 B: moto reads 30000 items one by one for over 10 s.)"""
    notes = "CPU p95 under 20 % for 30 days, memory p95 under 35 %; no burst credits spent; " * 28
    systems = [
        {
            "id": f"i-{n:06d}",
            "properties": {"Recommendation": "Downsize", "Savings Estimate": n, "Notes": f"{n}: {notes}"},
        }
        for n in range(3000)
    ]
    records = tmp_path / "large.json"
    records.write_text(
        json.dumps({"properties": [{"id": name} for name in systems[0]["properties"]], "systems": systems})
    )
    assert "3000 containers records published" in operator(
        runtime, "load-records", "--platform", "containers", str(records)
    )
    carol = log_in(base_url, "carol")
    everything = {
        "subscriptionName": "Every downsize",
        "propertyReferences": [{"propertyID": "Recommendation", "operator": "=", "values": ["Downsize"]}],
    }
    status, created = call(base_url, "POST", "/subscriptions/containers", [everything], carol)
    assert status == 200, created
    path = f"/subscriptions/containers/{created[0]['subscriptionRef']}"
    status, refused = call(base_url, "GET", path, token=carol)
    assert status == 400 and refused["message"].startswith(
        "On-Demand Failure. The results document of 3000 systems is "
    ), refused
    request = urllib.request.Request(  # noqa: S310
        base_url + path,
        headers={
            "authorization": f"Bearer {carol}",
            "accept-encoding": "gzip",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        assert answer.status == 200 and answer.headers["Content-Encoding"] == "gzip"
        document = json.loads(gzip.decompress(answer.read()))
    assert document["count"] == 3000 == len(document["results"])
    assert document["results"][0]["Notes"].startswith("0: CPU p95")
