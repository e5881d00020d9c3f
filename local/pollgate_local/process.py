"""`pollgate run` in a subprocess on free loopback ports, for the end-to-end tests and the benchmarks."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

READY = "pollgate ready"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """In a child (before exec, or after fork): the kernel sends it `signum` when its parent ends, however the
    parent ends (Linux's PR_SET_PDEATHSIG); elsewhere nothing, and the parent's stop() still ends it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signum)
    except (OSError, AttributeError):
        pass


def end(process: subprocess.Popen[str] | None, grace: float) -> None:
    """SIGTERM, `grace` seconds to exit, then SIGKILL: a child process always ends, boundedly."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class RuntimeProcess:
    """Starts the runtime, waits (bounded) for its ready line, keeps every output line; stop() always ends it."""

    def __init__(self, *args: str, port: int | None = None, ready_timeout: float = 60.0) -> None:
        self.port, self.aws_port, self.lambda_port = port or free_port(), free_port(), free_port()
        self.args = [
            "--port",
            str(self.port),
            "--aws-port",
            str(self.aws_port),
            "--lambda-port",
            str(self.lambda_port),
            *args,
        ]
        self.ready_timeout = ready_timeout
        self.lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._process: subprocess.Popen[str] | None = None
        self.ready_seconds = 0.0
        self._ended = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lambda_url(self) -> str:
        return f"http://127.0.0.1:{self.lambda_port}"

    def start(self) -> RuntimeProcess:
        started = time.perf_counter()
        command = [str(Path(sys.executable).with_name("pollgate")), "run", *self.args]
        self._process = subprocess.Popen(  # noqa: S603 - our own console script, beside this interpreter
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # A test or bench killed outright (a CI timeout, SIGKILL) must not leave a runtime running on: it ends
            # as if stopped (SIGTERM), with every sandbox. Linux ties this to the thread that starts the runtime.
            preexec_fn=die_with_parent,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(READY, self.ready_timeout)
        self.ready_seconds = time.perf_counter() - started
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        """The first line (already seen or coming) containing `text`; RuntimeError if the process ends first."""
        for line in self.lines:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while not self._ended and (remaining := deadline - time.monotonic()) > 0:
            try:
                received = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if received is None:
                self._ended = True
                break
            self.lines.append(received)
            if text in received:
                return received
        if self._ended:
            raise RuntimeError("pollgate run ended:\n" + "\n".join(self.lines[-30:]))
        raise TimeoutError(f"no line with {text!r} within {timeout} s:\n" + "\n".join(self.lines[-30:]))

    def output(self) -> list[str]:
        """Every line the runtime printed so far (those no wait_for has read yet included)."""
        while True:
            try:
                received = self._lines.get_nowait()
            except queue.Empty:
                return self.lines
            if received is None:
                self._ended = True
                return self.lines
            self.lines.append(received)

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait (bounded); returns the exit code."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        return self._process.wait(timeout)

    def stop(self) -> None:
        process, self._process = self._process, None
        end(process, grace=10)

    def __enter__(self) -> RuntimeProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
