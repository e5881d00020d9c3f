"""`pollgate run` gives each function a sandbox of its own, as Lambda does (issue 9): probed with a stack of probes.

tests/fixtures/sandbox_stack is a template of two functions whose handler does what the event says (sleep, exit,
raise, answer 7 MB, allocate, print, write to a table it may only read) and answers what it saw of its sandbox.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pollgate_local.client import call
from pollgate_local.process import RuntimeProcess

from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

SLEEP_ONE_SECOND = {"action": "sleep", "seconds": 1}
TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox_stack" / "template.yaml"


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess("--template", str(TEMPLATE), "--no-demo") as started:
        yield started


def invoke(runtime: RuntimeProcess, function: str, event: dict[str, Any]) -> tuple[str | None, Any]:
    """(X-Amz-Function-Error, payload) of a synchronous invocation through the runtime's Lambda endpoint."""
    request = urllib.request.Request(  # noqa: S310 - the runtime's loopback Lambda endpoint
        f"{runtime.lambda_url}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        return answer.headers.get("X-Amz-Function-Error"), json.loads(answer.read())


def test_a_sandbox_has_its_functions_environment_and_credentials_only(runtime: RuntimeProcess) -> None:
    _, reader = invoke(runtime, "ReaderFunction", {})
    _, other = invoke(runtime, "OtherFunction", {})
    assert reader["environment"]["ONLY_READER"] == "reader" and "ONLY_OTHER" not in reader["environment"]
    assert other["environment"]["ONLY_OTHER"] == "other" and "ONLY_READER" not in other["environment"]
    assert "TABLE_NAME" not in other["environment"]
    # Each signs as its own role, never as the runtime's admin, and sees nothing of the runtime's own variables.
    keys = {reader["environment"]["AWS_ACCESS_KEY_ID"], other["environment"]["AWS_ACCESS_KEY_ID"]}
    assert len(keys) == 2 and "testing" not in keys
    assert "PYTEST_CURRENT_TEST" not in reader["environment"]
    assert reader["environment"]["AWS_LAMBDA_FUNCTION_NAME"] == reader["function_name"]
    assert reader["pid"] != other["pid"] != runtime.pid


def test_a_sandbox_imports_what_lambda_has_and_not_what_only_this_machine_has(runtime: RuntimeProcess) -> None:
    # awscrt and pyOpenSSL are installed here with the development tools, not in the layer: on Lambda botocore
    # signs without the CRT and loads neither; moto and requests are this machine's tools, never a function's.
    _, seen = invoke(
        runtime, "OtherFunction", {"action": "import", "modules": ["awscrt", "OpenSSL", "moto", "requests"]}
    )
    assert seen["importable"] == {"awscrt": False, "OpenSSL": False, "moto": False, "requests": False}
    assert seen["botocore_has_crt"] is False
    assert not {"awscrt", "_awscrt", "OpenSSL", "urllib3.contrib.pyopenssl"} & set(seen["loaded"])
    _, layer = invoke(runtime, "OtherFunction", {"action": "import", "modules": ["boto3", "pydantic", "jwt"]})
    assert layer["importable"] == {"boto3": True, "pydantic": True, "jwt": True}


def test_a_warm_sandbox_serves_the_next_invocation(runtime: RuntimeProcess) -> None:
    _, first = invoke(runtime, "ReaderFunction", {})
    _, second = invoke(runtime, "ReaderFunction", {})
    assert (second["pid"], second["initialised"]) == (first["pid"], first["initialised"])


def test_invocations_at_once_get_sandboxes_of_their_own(runtime: RuntimeProcess) -> None:
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(lambda _: invoke(runtime, "ReaderFunction", {"action": "sleep", "seconds": 1}), range(3))
        )
    assert [error for error, _ in answers] == [None] * 3
    assert len({answer["pid"] for _, answer in answers}) == 3


def test_reserved_concurrency_caps_the_sandboxes(runtime: RuntimeProcess) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: invoke(runtime, "OtherFunction", {"action": "sleep", "seconds": 0.5}), range(4))
        )
    assert [error for error, _ in answers] == [None] * 4  # the two beyond the cap waited their turn
    assert len({answer["pid"] for _, answer in answers}) <= 2  # ReservedConcurrentExecutions: 2


def test_a_timed_out_handler_is_ended_and_the_next_invocation_starts_cold(runtime: RuntimeProcess) -> None:
    _, before = invoke(runtime, "OtherFunction", {})
    error, payload = invoke(runtime, "OtherFunction", {"action": "sleep", "seconds": 30})
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in payload["errorMessage"]
    _, after = invoke(runtime, "OtherFunction", {})
    assert after["initialised"] != before["initialised"] or after["pid"] != before["pid"]


def test_a_handler_that_exits_answers_runtime_exit_error_and_the_runtime_lives_on(runtime: RuntimeProcess) -> None:
    error, payload = invoke(runtime, "ReaderFunction", {"action": "exit"})
    assert (error, payload["errorType"]) == ("Unhandled", "Runtime.ExitError")
    error, payload = invoke(runtime, "ReaderFunction", {"action": "raise"})
    assert (error, payload["errorType"], payload["errorMessage"]) == (
        "Unhandled",
        "ValueError",
        "the probe was told to fail",
    )
    assert invoke(runtime, "ReaderFunction", {})[0] is None


def test_a_response_over_six_megabytes_is_refused_as_lambda_refuses_it(runtime: RuntimeProcess) -> None:
    error, payload = invoke(runtime, "ReaderFunction", {"action": "big"})
    assert (error, payload["errorType"]) == ("Unhandled", "Function.ResponseSizeTooLarge")
    assert "exceeded maximum allowed payload size (6291556 bytes)" in payload["errorMessage"]


def test_a_sandbox_past_its_memory_size_is_ended(runtime: RuntimeProcess) -> None:
    _, before = invoke(runtime, "ReaderFunction", {})
    error, payload = invoke(runtime, "ReaderFunction", {"action": "hog", "megabytes": 200})  # MemorySize: 128
    assert (error, payload["errorType"]) == ("Unhandled", "Runtime.OutOfMemory")
    _, after = invoke(runtime, "ReaderFunction", {})
    assert after["pid"] != before["pid"]


def test_output_lines_carry_the_functions_name(runtime: RuntimeProcess) -> None:
    line = f"probe line {os.getpid()}"
    invoke(runtime, "OtherFunction", {"action": "print", "line": line})
    assert runtime.wait_for(line, timeout=10) == f"[OtherFunction] {line}"


def test_a_call_the_role_does_not_grant_is_refused_and_named(runtime: RuntimeProcess) -> None:
    _, answer = invoke(runtime, "ReaderFunction", {"action": "put"})
    assert answer == {"refused": "ClientError", "code": "AccessDeniedException"}
    denial = runtime.wait_for("IAM denied", timeout=10)
    assert "ReaderFunction" in denial and "dynamodb:PutItem" in denial


def test_http_requests_are_served_at_once_each_by_a_sandbox(runtime: RuntimeProcess) -> None:
    def probe(_: int) -> dict[str, Any]:
        answer = call(runtime.base_url, "POST", "/probe", {"action": "sleep", "seconds": 1}, timeout=60)
        assert answer.status == 200
        return {"pid": answer.body["pid"], "began": answer.body["began"], "ended": answer.body["ended"]}

    with ThreadPoolExecutor(3) as pool:
        spans = list(pool.map(probe, range(3)))
    assert len({span["pid"] for span in spans}) == 3
    latest_start, earliest_end = max(s["began"] for s in spans), min(s["ended"] for s in spans)
    assert latest_start < earliest_end  # all three ran at the same time


def test_sigterm_ends_the_runtime_and_every_sandbox() -> None:
    with RuntimeProcess("--template", str(TEMPLATE), "--no-demo") as runtime:
        pids = {invoke(runtime, name, {})[1]["pid"] for name in ("ReaderFunction", "OtherFunction")}
        assert runtime.terminate(timeout=5) == 0
    eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), timeout=5, what="sandboxes ended")


def test_a_runtime_whose_starter_is_killed_ends_with_every_sandbox(tmp_path: Path) -> None:
    """A test run killed outright (a CI timeout) leaves no runtime behind to hold its ports and CPU."""
    import subprocess
    import sys

    pids_file = tmp_path / "pids.json"
    starter = f"""
import json, os, sys, time, urllib.request
from pollgate_local.process import RuntimeProcess
runtime = RuntimeProcess("--template", {str(TEMPLATE)!r}, "--no-demo").start()
request = urllib.request.Request(runtime.lambda_url + "/2015-03-31/functions/ReaderFunction/invocations", data=b"{{}}")
sandbox = json.loads(urllib.request.urlopen(request, timeout=60).read())["pid"]
open({str(pids_file)!r}, "w").write(json.dumps([runtime.pid, sandbox]))
time.sleep(120)
"""
    process = subprocess.Popen([sys.executable, "-c", starter])  # noqa: S603 - this interpreter, our own code
    try:
        eventually(lambda: pids_file.exists() and pids_file.stat().st_size > 0, timeout=90, what="runtime started")
        pids = json.loads(pids_file.read_text())
        assert all(Path(f"/proc/{pid}").exists() for pid in pids)
        process.kill()  # SIGKILL: no handler, no context manager runs
        process.wait(timeout=10)
        eventually(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), timeout=15, what="runtime and sandbox ended"
        )
    finally:
        process.kill()
        for pid in json.loads(pids_file.read_text() or "[]") if pids_file.exists() else []:
            with contextlib.suppress(ProcessLookupError):  # a runtime that failed this test ends anyway
                os.kill(pid, signal.SIGKILL)
