"""The local runtime as a newcomer meets it, and under load (issue 9's figures): how fast `pollgate run` is ready,
end-to-end UAI operations (submit -> `statusLog.logged`) with 1 and with 16 clients, failed operations, submit
latency and submit -> done latency, how many polls one runtime sustains, and the runtime's memory (RSS of its whole
process tree) once every function has been invoked, so every sandbox it starts is warm.

Loopback only; every loop is bounded in count and time. A client polls its operation every POLL_INTERVAL seconds
(faster than a real one, which honours Retry-After), so submit -> done is what the runtime takes, not the wait.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pollgate_local.client import call
from pollgate_local.process import RuntimeProcess

from bench.figures import Figure, Figures, percentile

ROOT = Path(__file__).resolve().parent.parent
SINGLE_CLIENT_OPERATIONS = int(os.environ.get("RUNTIME_BENCH_SINGLE", "100"))
CONCURRENT_CLIENTS = 16
CONCURRENT_OPERATIONS = int(os.environ.get("RUNTIME_BENCH_CONCURRENT", "400"))
OPERATION_TIMEOUT_SECONDS = 60.0
CALL_TIMEOUT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.02
POLL_SECONDS = 10.0
POLL_CLIENTS = 4
STATUS_LOG = "/uai/2.0/updates/statusLog"
REPORT = {
    "language": 1033,
    "packageId": "bench",
    "platform": "WIN64",
    "statusCode": 2,
    "timeStamp": "2026-01-01T12:00:00Z",
    "updateId": "bench-update",
    "updateName": "Bench update",
}


def _call(
    base_url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    answer = call(base_url, method, path, body, headers, timeout=CALL_TIMEOUT_SECONDS)
    return answer.status, answer.body


def _demo_token(runtime: RuntimeProcess) -> str:
    """The device token the UAI demo data printed (its key is uploaded; warm functions have it cached)."""
    heading = runtime.wait_for("# a device reports status")
    line = runtime.lines[runtime.lines.index(heading) + 1]
    return line.split("Authorization: Bearer ", 1)[1].split("'", 1)[0]


@dataclass
class Run:
    """One load run: how many operations completed, in how long, their latencies, and why the others failed."""

    clients: int
    seconds: float = 0.0
    submit_ms: list[float] = field(default_factory=list)
    done_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def completed(self) -> int:
        return len(self.done_ms)

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


def _operation(base_url: str, token: str, number: int, run: Run, lock: threading.Lock) -> None:
    """Submit one report and poll it to its outcome; a failure is recorded with its reason, never raised."""
    report = {**REPORT, "id": f"bench-{run.clients}-{number}", "idType": "STRING", "packageId": f"bench-{number}"}
    started = time.perf_counter()
    try:
        status, body = _call(base_url, "POST", STATUS_LOG, report, {"authorization": f"Bearer {token}"})
        submitted = time.perf_counter()
        if status != 202:
            reason = f"submit {status} {(body or {}).get('key', '') if isinstance(body, dict) else body}"
        else:
            deadline = time.monotonic() + OPERATION_TIMEOUT_SECONDS
            while (polled := _call(base_url, "GET", body["url"]))[0] == 202 and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL_SECONDS)
            done = time.perf_counter()
            status, outcome = polled
            if status == 200 and outcome.get("key") == "statusLog.logged":
                with lock:
                    run.submit_ms.append((submitted - started) * 1000)
                    run.done_ms.append((done - started) * 1000)
                return
            reason = (
                "still pending"
                if status == 202
                else f"outcome {status} {outcome.get('key')} {outcome.get('arguments', '')}"[:120]
            )
    except OSError as error:
        reason = f"no answer ({type(error).__name__})"
    with lock:
        run.failures[reason] += 1


def _load(base_url: str, token: str, clients: int, operations: int) -> Run:
    run, lock = Run(clients), threading.Lock()
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda n: _operation(base_url, token, n, run, lock), range(operations)))
    run.seconds = time.perf_counter() - started
    print(f"  {clients} client(s): {run.completed} of {operations} logged in {run.seconds:.1f} s", flush=True)
    for reason, count in run.failures.most_common():
        print(f"    {count} x {reason}", flush=True)
    return run


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


# ------------------------------------------------------------------------------------------------ memory


def template_functions(template: Path = ROOT / "template.yaml") -> list[str]:
    """The logical ids of the template's functions (read as text: the CloudFormation tags need no loader here)."""
    return re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function$", template.read_text(), re.MULTILINE)


def warm_every_function(lambda_url: str) -> Counter[str]:
    """Invoke each function once with an empty event, so every sandbox the runtime starts is started. Most
    handlers refuse an empty event (a function error): the sandbox ran the handler all the same."""
    answers: Counter[str] = Counter()
    for function in template_functions():
        request = urllib.request.Request(  # noqa: S310 - the runtime's own loopback Lambda endpoint
            f"{lambda_url}/2015-03-31/functions/{function}/invocations", data=b"{}", method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_SECONDS) as answer:  # noqa: S310
                answer.read()
                answers["function error" if answer.headers.get("X-Amz-Function-Error") else "ok"] += 1
        except urllib.error.HTTPError as error:
            answers[f"HTTP {error.code}"] += 1
        except OSError as error:
            answers[f"no answer ({type(error).__name__})"] += 1
    return answers


def process_tree(root: int) -> list[int]:
    """`root` and every process descending from it, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # after the command name, which may hold spaces
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def _proc_kib(pid: int, file: str, field: str) -> int:
    """A `Field:   N kB` line of /proc/<pid>/<file>; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid: int) -> int:
    return _proc_kib(pid, "status", "VmRSS:")


def pss_kib(pid: int) -> int:
    """The process's proportional share of the memory it maps: pages shared by N processes count 1/N each, so
    sandboxes forked from one zygote are not counted once per sandbox for what they share."""
    return _proc_kib(pid, "smaps_rollup", "Pss:")


def runtime_pid(runtime: RuntimeProcess) -> int:
    assert runtime.pid is not None
    return runtime.pid


def lock_statistics(runtime: RuntimeProcess) -> dict[str, float]:
    """How the AWS services' one lock fared (GET /_pollgate/lock)."""
    url = f"http://127.0.0.1:{runtime.aws_port}/_pollgate/lock"
    with urllib.request.urlopen(url, timeout=CALL_TIMEOUT_SECONDS) as answer:
        found: dict[str, float] = json.loads(answer.read())
    return found


# ------------------------------------------------------------------------------------------------ the figures


def run() -> Figures:
    with RuntimeProcess("--log-level", "ERROR") as runtime:  # demo data on, as `make run` starts
        token = _demo_token(runtime)
        single = _load(runtime.base_url, token, 1, SINGLE_CLIENT_OPERATIONS)
        concurrent = _load(runtime.base_url, token, CONCURRENT_CLIENTS, CONCURRENT_OPERATIONS)
        done_url = _call(runtime.base_url, "POST", STATUS_LOG, REPORT, {"authorization": f"Bearer {token}"})[1]["url"]
        wait_until = time.monotonic() + OPERATION_TIMEOUT_SECONDS
        while _call(runtime.base_url, "GET", done_url)[0] == 202 and time.monotonic() < wait_until:
            time.sleep(0.01)
        polls = _polls_per_second(runtime.base_url, done_url)
        warmed = warm_every_function(runtime.lambda_url)
        print(f"  every function invoked once: {dict(warmed)}", flush=True)
        tree = process_tree(runtime_pid(runtime))
        memory_mib = sum(rss_kib(pid) for pid in tree) / 1024
        proportional_mib = sum(pss_kib(pid) for pid in tree) / 1024
        print(
            f"  runtime process tree: {len(tree)} processes, {memory_mib:.0f} MiB RSS, {proportional_mib:.0f} MiB PSS",
            flush=True,
        )
        lock = lock_statistics(runtime)
        print(f"  the services' lock: {lock}", flush=True)
        ready = runtime.ready_seconds
    failed = sum(single.failures.values()) + sum(concurrent.failures.values())
    return {
        "runtime.ready": Figure(round(ready, 2), "s", "<= 10"),
        "runtime.uai_ops_per_second_1_client": Figure(round(single.per_second, 1), "ops/s", ""),
        "runtime.uai_ops_per_second_16_clients": Figure(round(concurrent.per_second, 1), "ops/s", ">= 25"),
        "runtime.uai_failed_ops": Figure(failed, "ops", "== 0"),
        "runtime.submit_to_done_p50": Figure(
            round(statistics.median(single.done_ms), 1) if single.done_ms else -1, "ms", "<= 250"
        ),
        "runtime.submit_to_done_p95": Figure(round(percentile(single.done_ms, 0.95), 1), "ms", "<= 500"),
        "runtime.submit_p50_1_client": Figure(round(percentile(single.submit_ms, 0.5), 1), "ms", ""),
        "runtime.submit_p95_1_client": Figure(round(percentile(single.submit_ms, 0.95), 1), "ms", ""),
        "runtime.submit_p50_16_clients": Figure(round(percentile(concurrent.submit_ms, 0.5), 1), "ms", ""),
        "runtime.submit_p95_16_clients": Figure(round(percentile(concurrent.submit_ms, 0.95), 1), "ms", "<= 250"),
        "runtime.submit_to_done_p50_16_clients": Figure(round(percentile(concurrent.done_ms, 0.5), 1), "ms", ""),
        "runtime.submit_to_done_p95_16_clients": Figure(round(percentile(concurrent.done_ms, 0.95), 1), "ms", ""),
        "runtime.polls_per_second": Figure(round(polls, 1), "polls/s", ">= 100"),
        "runtime.memory_every_function_warm": Figure(round(memory_mib), "MiB", ""),
        "runtime.memory_pss_every_function_warm": Figure(round(proportional_mib), "MiB", ""),
        "runtime.services_lock_mean_wait": Figure(lock["mean_wait_ms"], "ms", ""),
        "runtime.services_requests": Figure(int(lock["requests"]), "requests", ""),
        "runtime.processes_every_function_warm": Figure(len(tree), "processes", ""),
    }


if __name__ == "__main__":
    print(json.dumps({name: figure.as_json() for name, figure in run().items()}, indent=2))
