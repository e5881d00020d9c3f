"""The local runtime as a newcomer meets it: how fast `pollgate run` is ready, how fast a report is logged,
how many polls one runtime sustains. Loopback only; every loop is bounded in count and time."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from pollgate_local.client import call
from pollgate_local.process import RuntimeProcess

from bench.figures import Figure, Figures

OPERATIONS = 200
OPERATION_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 10.0
POLL_CLIENTS = 4
STATUS_LOG = "/uai/2.0/updates/statusLog"
KEYS = "/flexnet/operations/api/updates/update-authorization-key"
REPORT = {"language": 1033, "packageId": "bench", "platform": "WIN64", "statusCode": 2,
          "timeStamp": "2026-01-01T12:00:00Z", "updateId": "bench-update", "updateName": "Bench update"}


def _call(base_url: str, method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    answer = call(base_url, method, path, body, headers)
    return answer.status, answer.body


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _demo_token(runtime: RuntimeProcess) -> str:
    """The device token the UAI demo data printed (its key is uploaded; warm functions have it cached)."""
    heading = runtime.wait_for("# a device reports status")
    line = runtime.lines[runtime.lines.index(heading) + 1]
    return line.split("Authorization: Bearer ", 1)[1].split("'", 1)[0]


def _submit_to_done(base_url: str, token: str) -> list[float]:
    latencies = []
    for n in range(OPERATIONS):
        started = time.perf_counter()
        status, body = _call(base_url, "POST", STATUS_LOG, {**REPORT, "packageId": f"bench-{n}"},
                             {"authorization": f"Bearer {token}"})
        if status != 202:
            raise RuntimeError(f"submit answered {status}: {body}")
        deadline = time.monotonic() + OPERATION_TIMEOUT_SECONDS
        while _call(base_url, "GET", body["url"])[0] == 202:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{body['url']} still pending after {OPERATION_TIMEOUT_SECONDS} s")
            time.sleep(0.002)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _polls_per_second(base_url: str, url: str) -> float:
    counts = [0] * POLL_CLIENTS
    deadline = time.monotonic() + POLL_SECONDS

    def client(index: int) -> None:
        while time.monotonic() < deadline:
            status, _ = _call(base_url, "GET", url)
            if status != 200:
                raise RuntimeError(f"poll answered {status}")
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(POLL_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(POLL_SECONDS + 15)
    return sum(counts) / (time.perf_counter() - started)


def run() -> Figures:
    with RuntimeProcess("--log-level", "ERROR") as runtime:  # demo data on, as `make run` starts
        token = _demo_token(runtime)
        latencies = _submit_to_done(runtime.base_url, token)
        done_url = _call(runtime.base_url, "POST", STATUS_LOG, REPORT, {"authorization": f"Bearer {token}"})[1]["url"]
        wait_until = time.monotonic() + OPERATION_TIMEOUT_SECONDS
        while _call(runtime.base_url, "GET", done_url)[0] == 202 and time.monotonic() < wait_until:
            time.sleep(0.01)
        polls = _polls_per_second(runtime.base_url, done_url)
        ready = runtime.ready_seconds
    return {
        "runtime.ready": Figure(round(ready, 2), "s", "<= 10"),
        "runtime.submit_to_done_p50": Figure(round(statistics.median(latencies), 1), "ms", "<= 250"),
        "runtime.submit_to_done_p95": Figure(round(_percentile(latencies, 0.95), 1), "ms", "<= 500"),
        "runtime.polls_per_second": Figure(round(polls, 1), "polls/s", ">= 100"),
    }
