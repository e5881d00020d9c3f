"""One function's sandbox: a process of its own that loads the handler once and serves one invocation at a time.

Sandboxes are forked from a zygote (`python -m pollgate_local.sandbox --socket PATH`): a process that has
imported the libraries every function shares (boto3, botocore, Powertools, pydantic, PyJWT, cryptography) and
nothing else, with what Lambda lacks hidden first (lambda_imports.py: no awscrt or pyOpenSSL for botocore to pick
up), and has read botocore's data files (service models, endpoint rules, partitions) for the services the
functions call, so a cold start pays for the function's own init (its module, the core it imports, its clients)
and not for a fresh interpreter or for parsing the same JSON again, and the sandboxes share the zygote's pages.
What a sandbox then is, is what Lambda makes: its environment is exactly the one the runtime sends (the
template's variables for that function, Lambda's own, the runtime's endpoints and the function's own credentials:
nothing of the zygote's), its code is the function's folder and its layers, and its output lines go to the console
prefixed `[LogicalId]`.

The zygote reads one JSON line per sandbox to start on its stdin. The sandbox connects to the runtime's Unix
socket, says hello (its pid, init time, or the init error), then answers frames: 4-byte big-endian length +
JSON, `{"event", "request_id", "remaining_ms"}` in, `{"result"}` or `{"error"}` out, with its peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import resource
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from pollgate_local.process import die_with_parent

# What every function imports; loaded once in the zygote (a missing one is simply loaded by the function).
SHARED_MODULES = (
    "boto3",
    "botocore.session",
    "botocore.client",
    "botocore.parsers",
    "botocore.serialize",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.utilities.typing",
    "pydantic",
    "jwt",
    "cryptography.hazmat.primitives.asymmetric.rsa",
)

# The services the functions' clients call: their botocore data is read once, in the zygote.
SHARED_SERVICE_DATA = ("dynamodb", "sqs", "stepfunctions", "s3", "secretsmanager")

_FRAME = struct.Struct(">I")


def send_frame(connection: socket.socket, value: Any) -> None:
    data = json.dumps(value, separators=(",", ":")).encode()
    connection.sendall(_FRAME.pack(len(data)) + data)


def receive_frame(connection: socket.socket) -> Any:
    """The next frame, or None when the other side closed."""
    header = _receive_exactly(connection, _FRAME.size)
    if header is None:
        return None
    (length,) = _FRAME.unpack(header)
    data = _receive_exactly(connection, length)
    return None if data is None else json.loads(data)


def _receive_exactly(connection: socket.socket, size: int) -> bytes | None:
    chunks, received = [], 0
    while received < size:
        chunk = connection.recv(min(size - received, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ---------------------------------------------------------------------------------------------- in the sandbox
def _prefix_output(logical_id: str) -> None:
    """fds 1 and 2 into a pipe whose lines reach the console as `[LogicalId] line`."""
    console = os.dup(1)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    prefix = f"[{logical_id}] ".encode()

    def copy() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                os.write(console, prefix + line)

    threading.Thread(target=copy, name="output", daemon=True).start()
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)


_CGROUP_ROOT = Path("/sys/fs/cgroup")


def memory_cgroup(sandbox: str, memory_mb: int) -> str | None:
    """Put this process in a memory cgroup of its own capped at `memory_mb`, where the machine lets it (root, a
    writable cgroup v1 memory controller or cgroup v2); answers its folder, or None (then memory is only measured).
    The kernel then ends the sandbox the moment it passes its MemorySize, as Lambda does."""
    limit = str(memory_mb * 1024 * 1024)
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            number, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):  # cgroup v1
                folder = _CGROUP_ROOT / "memory" / path.lstrip("/") / f"pollgate-sandbox-{sandbox}"
                files = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
                break
            if number == "0" and (_CGROUP_ROOT / "cgroup.controllers").exists():  # cgroup v2
                folder = _CGROUP_ROOT / path.lstrip("/") / f"pollgate-sandbox-{sandbox}"
                files = ["memory.max", "memory.swap.max"]
        else:
            return None
        folder.mkdir()
        for name in files:
            if (folder / name).exists():
                (folder / name).write_text("0" if name == "memory.swap.max" else limit)
        (folder / "cgroup.procs").write_text(str(os.getpid()))
    except (OSError, ValueError, UnboundLocalError):
        return None
    return str(folder)


def _error(error_type: str, message: str, trace: list[str] | None = None) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message, "stackTrace": trace or []}


def _load_handler(spec: dict[str, Any]) -> Any:
    module_name, _, attribute = str(spec["handler"]).rpartition(".")
    for folder in reversed([spec["code_dir"], *spec.get("layers", [])]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise LookupError(f"{spec['handler']} is not a function in {spec['code_dir']}")
    return handler


def serve(spec: dict[str, Any]) -> None:
    """Forked from the zygote: become the function's sandbox and serve invocations until the runtime hangs up."""
    from pollgate_local.functions import LambdaContext

    os.environ.clear()
    os.environ.update(spec["environment"])
    with contextlib.suppress(OSError):
        os.nice(int(spec.get("nice", 0)))
    _prefix_output(spec["logical_id"])
    cgroup = memory_cgroup(spec["sandbox"], int(spec["memory_mb"])) if spec.get("cap_memory") else None
    started = time.perf_counter()
    handler, init_error = None, None
    try:
        handler = _load_handler(spec)
    except Exception as error:
        init_error = _error("Runtime.ImportModuleError", f"Unable to import module {spec['handler']!r}: {error}")
    init_ms = (time.perf_counter() - started) * 1000
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(spec["socket"])
    send_frame(
        connection,
        {
            "sandbox": spec["sandbox"],
            "pid": os.getpid(),
            "init_ms": init_ms,
            "init_error": init_error,
            "cgroup": cgroup,
        },
    )
    if handler is None:
        return
    while True:
        request = receive_frame(connection)
        if request is None:
            return
        context = LambdaContext(
            function_name=spec["function_name"],
            invoked_function_arn=spec["function_arn"],
            memory_limit_in_mb=int(spec["memory_mb"]),
            aws_request_id=request["request_id"],
            deadline=time.monotonic() + request["remaining_ms"] / 1000,
            log_group_name=f"/aws/lambda/{spec['function_name']}",
        )
        try:
            answer: dict[str, Any] = {"result": handler(request["event"], context)}
        except Exception as error:  # every handler error is Lambda's Unhandled
            answer = {"error": _error(type(error).__name__, str(error), traceback.format_exception(error)[1:])}
        sys.stdout.flush()
        sys.stderr.flush()
        answer["peak_rss_mb"] = peak_rss_mb()
        try:
            send_frame(connection, answer)
        except TypeError as error:  # the handler answered something JSON cannot carry
            send_frame(connection, {"error": _error("Runtime.MarshalError", f"Unable to marshal response: {error}")})


# ---------------------------------------------------------------------------------------------- the zygote
def _share_botocore_data() -> None:
    """Every botocore session made with the default data path reads through one loader, filled here.

    The loader holds only what botocore's data files say (the same for every sandbox and every session: botocore
    already shares it between the clients of one session); credentials, region and endpoints are read by each
    session from its own sandbox's environment when it makes a client. A sandbox given AWS_DATA_PATH gets a
    loader of its own.
    """
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    make_loader = botocore.session.create_loader

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        return make_loader(search_path_string) if search_path_string else shared

    botocore.session.create_loader = create_loader
    session = botocore.session.Session()
    for service in SHARED_SERVICE_DATA:
        session.create_client(
            service,
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",  # never called: making the client reads what it needs
            aws_access_key_id="zygote",
            aws_secret_access_key="zygote",  # noqa: S106 - not a secret, no call is made with it
        )


def zygote(socket_path: str) -> int:
    # Before anything the functions share is imported: what they load must be what they would load on Lambda.
    from pollgate_local.lambda_imports import hide_what_lambda_lacks

    hide_what_lambda_lacks()
    for name in SHARED_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(Exception):  # without it a cold start reads the files itself, as before
        _share_botocore_data()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # sandboxes are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the runtime, which ends everything
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as ready:
        ready.connect(socket_path)
        send_frame(ready, {"sandbox": "zygote", "pid": os.getpid()})
    for line in sys.stdin:
        spec = json.loads(line)
        if os.fork() == 0:
            code = 0
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                die_with_parent(signal.SIGKILL)  # the zygote's end (the runtime's) ends every sandbox
                sys.stdin.close()
                os.close(0)
                serve(spec)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pollgate_local.sandbox")
    parser.add_argument("--socket", required=True, help="the runtime's Unix socket")
    return zygote(parser.parse_args(argv).socket)


if __name__ == "__main__":
    sys.exit(main())
