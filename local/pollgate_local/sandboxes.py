"""The runtime's side of the sandboxes: one pool per function, a sandbox per invocation in flight.

Like Lambda (and SAM CLI's `--warm-containers LAZY`), a function's first invocation starts its sandbox, which
stays warm for the next; invocations in flight at once get further sandboxes, up to the function's concurrency
(`ReservedConcurrentExecutions`, an SQS event source's `MaximumConcurrency`, else the runtime's cap). The
function's timeout is enforced by ending the sandbox (the next invocation starts cold); a sandbox whose peak
memory passed its `MemorySize` is ended too; a sandbox that dies answers `Runtime.ExitError`. None of it can take
the runtime down. Time spent waiting for a free sandbox at the runtime's cap is this machine's limit, not AWS's:
it is bounded but does not count against the function's timeout.

    sandboxes = Sandboxes(policies, endpoints, say)       # starts the zygote (sandbox.py)
    function = sandboxes.function(stack.functions["UaiSubmitStatusLogFunction"])
    function.invoke(event)                                  # as LocalFunction.invoke: result or FunctionError
    sandboxes.stop()                                        # every sandbox ends
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pollgate_local.functions import INTEGRATION_TIMED_OUT, FunctionError, LocalFunction
from pollgate_local.process import die_with_parent
from pollgate_local.sandbox import receive_frame, send_frame

# Lambda's own limit on a synchronous invocation's response, as its error message states it.
MAX_RESPONSE_BYTES = 6_291_556
# How long a sandbox may take to start (import its handler) before the invocation fails; Lambda allows 10 s of
# init, this machine may be busy.
_INIT_SECONDS = 60.0
# How long an invocation waits for a sandbox once the function's concurrency is all in use.
_QUEUE_SECONDS = 120.0
_ZYGOTE = "zygote"  # the hello of the zygote itself, once it has loaded the shared modules
# The runtime's cap on sandboxes per function where the template sets no concurrency.
DEFAULT_CONCURRENCY = 10


@dataclass
class PoolStatistics:
    cold_starts: int = 0
    invocations: int = 0
    timeouts: int = 0
    exits: int = 0
    peak_rss_mb: float = 0.0
    init_ms: list[float] = field(default_factory=list)


# How far time the machine made a sandbox wait for a CPU may stretch its timeout.
MAX_STRETCH = 5.0
_PRESSURE = Path("/proc/pressure/cpu")


def cpu_stall_seconds() -> float:
    """Seconds, since boot, during which some runnable task here waited for a CPU (0 where Linux does not say)."""
    try:
        some = _PRESSURE.read_text().split("\n", 1)[0]
    except OSError:
        return 0.0
    return int(some.rsplit("total=", 1)[1]) / 1_000_000 if "total=" in some else 0.0


class Sandbox:
    """One sandbox process and its connection; serves one invocation at a time."""

    def __init__(self, connection: socket.socket, pid: int, init_ms: float, cgroup: str | None = None) -> None:
        self.connection = connection
        self.pid = pid
        self.init_ms = init_ms
        self.cgroup = Path(cgroup) if cgroup else None  # its memory cgroup, capped at MemorySize (sandbox.py)

    def killed_for_memory(self) -> bool:
        """Whether the kernel ended it for passing its memory cgroup's cap."""
        if self.cgroup is None:
            return False
        for name in ("memory.oom_control", "memory.events"):  # cgroup v1, v2
            try:
                lines = (self.cgroup / name).read_text().splitlines()
            except OSError:
                continue
            counts = dict(line.split(" ", 1) for line in lines if " " in line)
            return int(counts.get("oom_kill", "0")) > 0
        return False

    def invoke(self, event: Any, request_id: str, timeout: float) -> dict[str, Any]:
        """The sandbox's answer frame; TimeoutError when it took longer, EOFError when it died.

        `timeout` is the function's own time: time this machine made the sandbox wait for a CPU (the stall Linux
        reports in /proc/pressure/cpu) does not count, as on AWS, where a sandbox has a CPU of its own; it stretches
        the wait at most MAX_STRETCH times, so every wait stays bounded.
        """
        self.connection.settimeout(None)
        try:
            send_frame(self.connection, {"event": event, "request_id": request_id, "remaining_ms": int(timeout * 1000)})
        except OSError as error:
            raise EOFError(str(error)) from error
        started, stalled = time.monotonic(), cpu_stall_seconds()
        latest, due = started + timeout * MAX_STRETCH, started + timeout
        while not select.select([self.connection], [], [], max(0.0, due - time.monotonic()))[0]:
            # The wait ran out: the stall since the start moves the deadline (the stall is read only now).
            due = min(started + timeout + max(0.0, cpu_stall_seconds() - stalled), latest)
            if time.monotonic() >= due:
                raise TimeoutError(f"no answer within {timeout} s")
        try:
            answer = receive_frame(self.connection)
        except OSError as error:
            raise EOFError(str(error)) from error
        if answer is None:
            raise EOFError("the sandbox closed its connection")
        result: dict[str, Any] = answer
        return result

    def end(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.connection.close()
        if self.cgroup is not None:
            threading.Thread(target=_remove_cgroup, args=(self.cgroup,), daemon=True).start()


def _remove_cgroup(folder: Path) -> None:
    """A cgroup can be removed once its processes are gone: try for a few seconds (bounded)."""
    for _ in range(50):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


class Zygote:
    """The process sandboxes are forked from, and the Unix socket they connect back to."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._folder = tempfile.mkdtemp(prefix="pollgate-sandboxes-")
        self.socket_path = str(Path(self._folder) / "runtime.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(64)
        self._waiting: dict[str, tuple[threading.Event, list[Any]]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        threading.Thread(target=self._accept, name="sandbox-accept", daemon=True).start()
        ready = threading.Event()
        self._waiting[_ZYGOTE] = (ready, [])
        # Its output (and so every sandbox's) is the runtime's own console.
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
            [sys.executable, "-m", "pollgate_local.sandbox", "--socket", self.socket_path],
            stdin=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=die_with_parent,
        )
        if not ready.wait(_INIT_SECONDS):
            self.stop()
            raise RuntimeError("the sandbox zygote did not start")

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            try:
                connection.settimeout(_INIT_SECONDS)
                hello = receive_frame(connection)
            except OSError:
                connection.close()
                continue
            if not isinstance(hello, dict):
                connection.close()
                continue
            with self._lock:
                waiting = self._waiting.pop(str(hello.get("sandbox")), None)
            if waiting is None:
                connection.close()
                continue
            waiting[1].extend([connection, hello])
            waiting[0].set()

    def start(self, spec: dict[str, Any]) -> Sandbox:
        """Fork a sandbox for `spec` and wait (bounded) for it to report its init; FunctionError if it failed."""
        sandbox_id = uuid.uuid4().hex
        arrived = threading.Event()
        slot: list[Any] = []
        with self._lock:
            self._waiting[sandbox_id] = (arrived, slot)
        line = json.dumps({**spec, "sandbox": sandbox_id, "socket": self.socket_path}) + "\n"
        try:
            with self._write_lock:
                assert self._process.stdin is not None
                self._process.stdin.write(line)
                self._process.stdin.flush()
        except OSError as error:
            raise FunctionError("Runtime.ExitError", f"the sandbox zygote is gone: {error}") from error
        if not arrived.wait(_INIT_SECONDS):
            with self._lock:
                self._waiting.pop(sandbox_id, None)
            raise FunctionError("Runtime.InitError", f"the sandbox did not start within {_INIT_SECONDS:.0f} s")
        connection, hello = slot
        sandbox = Sandbox(connection, int(hello["pid"]), float(hello.get("init_ms") or 0), hello.get("cgroup"))
        if hello.get("init_error"):
            sandbox.end()
            failed = hello["init_error"]
            raise FunctionError(failed["errorType"], failed["errorMessage"], failed.get("stackTrace"))
        return sandbox

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._process.poll() is None:
            self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(3)
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)
            os.rmdir(self._folder)


class SandboxedFunction:
    """A function of the template run in sandboxes: what LocalFunction is in process, to every caller."""

    def __init__(self, function: LocalFunction, spec: dict[str, Any], zygote: Zygote, concurrency: int) -> None:
        self.local = function
        self.logical_id = function.logical_id
        self.name = function.name
        self.arn = function.arn
        self.code_dir = function.code_dir
        self.timeout_seconds = function.timeout_seconds
        self.memory_mb = function.memory_mb
        self.environment = spec["environment"]
        self._spec = spec
        self._zygote = zygote
        self._idle: list[Sandbox] = []
        self._all: set[Sandbox] = set()
        self._starting = 0
        self._pool = threading.Condition()
        self._concurrency = concurrency
        self.statistics = PoolStatistics()
        self._stopped = False

    # SqsPoller raises the cap to its MaximumConcurrency, as for an in-process function.
    @property
    def max_instances(self) -> int:
        return self._concurrency

    @max_instances.setter
    def max_instances(self, value: int) -> None:
        with self._pool:
            self._concurrency = max(1, int(value))
            self._pool.notify_all()

    def load_module(self, instance: str) -> tuple[ModuleType, Path]:
        """For the OpenAPI documents only: the handler's module, loaded in the runtime's own process."""
        return self.local.load_module(instance)

    def invoke(self, event: Any, *, timeout: float | None = None) -> Any:
        """Run the handler once in a sandbox; raises FunctionError as Lambda reports an unhandled error.
        `timeout` (the caller's own limit, e.g. API Gateway's 30 s) applies when shorter than the function's."""
        sandbox = self._checkout()
        limit = min(self.timeout_seconds, timeout) if timeout else self.timeout_seconds
        request_id = str(uuid.uuid4())
        keep = False
        try:
            try:
                answer = sandbox.invoke(event, request_id, limit)
            except TimeoutError:
                self.statistics.timeouts += 1
                if limit < self.timeout_seconds:
                    raise FunctionError(
                        INTEGRATION_TIMED_OUT, f"RequestId: {request_id}: no answer within the caller's {limit:.0f} s"
                    ) from None
                raise FunctionError(
                    "Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed out after {limit:.2f} seconds"
                ) from None
            except EOFError:
                self.statistics.exits += 1
                if sandbox.killed_for_memory():
                    raise FunctionError(
                        "Runtime.OutOfMemory",
                        f"RequestId: {request_id} Error: Runtime exited with error: signal: killed "
                        f"(past its MemorySize, {self.memory_mb} MB)",
                    ) from None
                raise FunctionError(
                    "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited without providing a reason"
                ) from None
            self.statistics.invocations += 1
            peak = float(answer.get("peak_rss_mb") or 0)
            self.statistics.peak_rss_mb = max(self.statistics.peak_rss_mb, peak)
            if peak > self.memory_mb:
                raise FunctionError(
                    "Runtime.OutOfMemory",
                    f"RequestId: {request_id} Error: Runtime exited with error: signal: killed "
                    f"(peak {peak:.0f} MB, MemorySize {self.memory_mb} MB)",
                )
            keep = True
            if "error" in answer:
                error = answer["error"]
                raise FunctionError(error["errorType"], error["errorMessage"], error.get("stackTrace"))
            result = answer.get("result")
            size = len(json.dumps(result, separators=(",", ":")).encode())
            if size > MAX_RESPONSE_BYTES:
                raise FunctionError(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                    f"({MAX_RESPONSE_BYTES} bytes).",
                )
            return result
        finally:
            self._checkin(sandbox, keep)

    def _checkout(self) -> Sandbox:
        deadline = time.monotonic() + _QUEUE_SECONDS
        with self._pool:
            while not self._idle and len(self._all) + self._starting >= self._concurrency:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopped:
                    raise FunctionError("TooManyRequestsException", f"{self.logical_id}: Rate Exceeded.")
                self._pool.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._starting += 1
        try:
            sandbox = self._zygote.start(self._spec)
        except BaseException:
            with self._pool:
                self._starting -= 1
                self._pool.notify()
            raise
        with self._pool:
            self._starting -= 1
            self._all.add(sandbox)
            self.statistics.cold_starts += 1
            self.statistics.init_ms.append(sandbox.init_ms)
        return sandbox

    def _checkin(self, sandbox: Sandbox, keep: bool) -> None:
        with self._pool:
            if keep and not self._stopped:
                self._idle.append(sandbox)
            else:
                self._all.discard(sandbox)
                sandbox.end()
            self._pool.notify()

    def pids(self) -> list[int]:
        with self._pool:
            return [sandbox.pid for sandbox in self._all]

    def stop(self) -> None:
        with self._pool:
            self._stopped = True
            for sandbox in self._all:
                sandbox.end()
            self._all.clear()
            self._idle.clear()
            self._pool.notify_all()


# Variables Lambda sets in every sandbox (those a handler or Powertools may read).
def lambda_variables(function: LocalFunction) -> dict[str, str]:
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


class Sandboxes:
    """Every function's pool, forked from one zygote; stop() ends them all."""

    def __init__(
        self,
        *,
        endpoints: Mapping[str, str],
        credentials_of: Callable[[str], Mapping[str, str]],
        say: Callable[[str], None] = print,
    ) -> None:
        self._endpoints = dict(endpoints)
        self._credentials_of = credentials_of
        self._zygote = Zygote(say)
        self.functions: dict[str, SandboxedFunction] = {}

    @property
    def zygote_pid(self) -> int:
        return int(self._zygote._process.pid)

    def function(self, function: LocalFunction) -> SandboxedFunction:
        environment = {
            **lambda_variables(function),
            **function.environment,
            **self._endpoints,
            **self._credentials_of(function.logical_id),
        }
        spec = {
            "logical_id": function.logical_id,
            "function_name": function.name,
            "function_arn": function.arn,
            "handler": function.handler,
            "code_dir": str(function.code_dir),
            "layers": list(function.layers),
            "memory_mb": function.memory_mb,
            "environment": environment,
            "nice": 5,  # the sandboxes yield to the runtime and the services they wait on
            "cap_memory": True,  # a memory cgroup capped at MemorySize, where the machine allows it
        }
        sandboxed = SandboxedFunction(
            function, spec, self._zygote, function.reserved_concurrency or DEFAULT_CONCURRENCY
        )
        self.functions[function.logical_id] = sandboxed
        return sandboxed

    def pids(self) -> list[int]:
        return [pid for function in self.functions.values() for pid in function.pids()]

    def stop(self) -> None:
        for function in self.functions.values():
            function.stop()
        self._zygote.stop()
