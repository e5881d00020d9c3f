"""The emulated AWS services in a process of their own: moto's server, one request at a time, IAM in front.

moto's backends are plain Python objects with no locking of their own: two requests handled at once can see each
other half done (a transaction iterating a table another request is writing: "dictionary changed size during
iteration"). AWS never shows that, so here every request runs alone under one lock (not in strict arrival order: a
`threading.Lock` is not fair; a first-come handoff lock measured no better, within noise). The only
request that waits without the lock is an SQS long poll: it is answered at once when messages are there, else
waits (lock released) until a message is sent or its wait time ends, as SQS does.

In front of the lock sits IAM (`pollgate_local.iam.Authorizer`): a caller signing with a function's or state
machine's credentials gets what that role is granted and nothing else, refused as AWS refuses, and a line saying
which permission was missing for which function goes to the console. The runtime installs the roles once it
has provisioned the stack (`PUT /_pollgate/policies`).

The runtime's own routes (not AWS APIs):
    GET /_pollgate/executions[?stateMachineArn=...&history=1]  every execution, Express included (adapters.py)
    GET /_pollgate/lock                                          requests served, time spent waiting for the lock
    POST /_pollgate/wake              every SQS long poll waiting answers now (the runtime is stopping)
    PUT /_pollgate/workflows           {"url": ...}: Step Functions requests are forwarded there, as it answers
    PUT /_pollgate/policies            {"policies": PolicySet JSON, "state_machines": {ARN: logical id}}

Run by the runtime as `python -m pollgate_local.services --port N --lambda-url URL`; `ServicesProcess` starts,
reads and stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from pollgate_local.process import die_with_parent, end

READY = "pollgate services ready on "
_PREFIX = "/_pollgate/"
# How often a waiting long poll looks again even when nothing was sent (a message whose visibility timeout or
# delay ended becomes receivable without any request).
_LONG_POLL_RECHECK_SECONDS = 1.0
# The SQS calls after which a message may be there for a waiting poll to take.
_MAKES_VISIBLE = ("AmazonSQS.SendMessage", "AmazonSQS.ChangeMessageVisibility")
# The server's request threads (long polls wait on one each: five per SQS mapping), the connections it keeps
# open at once (every warm sandbox keeps its SDK's), and how long an idle one stays open (the SDK opens another).
_SERVER_THREADS = 48
_SERVER_CONNECTIONS = 2000
_IDLE_CONNECTION_SECONDS = 60


def _json_body(environ: dict[str, Any]) -> Any:
    """The request's JSON body (None when it is not JSON), leaving it readable for the app."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return None


def _queue_name(request: Any) -> str | None:
    """The queue a JSON SQS request names (by name: its URL's host differs between callers)."""
    url = request.get("QueueUrl") if isinstance(request, dict) else None
    return url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) and url else None


WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class LockStatistics:
    def __init__(self) -> None:
        self.requests = 0
        self.waited_seconds = 0.0
        self.held_seconds = 0.0
        self.longest_wait_seconds = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "waited_seconds": round(self.waited_seconds, 3),
            "held_seconds": round(self.held_seconds, 3),
            "longest_wait_seconds": round(self.longest_wait_seconds, 3),
            "mean_wait_ms": round(1000 * self.waited_seconds / self.requests, 3) if self.requests else 0.0,
        }


class Serialized:
    """`app` called by one request at a time; SQS long polls wait for messages without holding the lock."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._sent = threading.Lock()  # guards the three below; each queue's polls wait on a condition of it
        self._sends: dict[str, int] = {}  # sends so far, by queue: a poll that saw none since its attempt may sleep
        self._waiting: dict[str, threading.Condition] = {}
        self._woken = False  # the runtime is stopping: no poll waits any more
        self.statistics = LockStatistics()
        self.profiler: Any = None  # a cProfile.Profile when POLLGATE_SERVICES_PROFILE is set

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target == "AmazonSQS.ReceiveMessage":
            return self._long_poll(environ, start_response)
        if not target.startswith(_MAKES_VISIBLE):
            return self._alone(environ, start_response)
        request = _json_body(environ)
        answer = self._alone(environ, start_response)
        queue = _queue_name(request)
        entries = request.get("Entries") if isinstance(request, dict) else None
        self._wake_polls(queue, len(entries) if isinstance(entries, list) and entries else 1)
        return answer

    def _condition(self, queue: str) -> threading.Condition:
        if queue not in self._waiting:
            self._waiting[queue] = threading.Condition(self._sent)
        return self._waiting[queue]

    def _wake_polls(self, queue: str | None, messages: int = 1, *, stopping: bool = False) -> None:
        """As many long polls of `queue` as messages were made visible look again (not every poll: each woken
        poll is one more request under the lock); `queue` None (not known, or the runtime stopping): every poll.
        `stopping`: and every poll answers with what it finds."""
        with self._sent:
            self._woken = self._woken or stopping
            for name in self._waiting if queue is None else [queue]:
                self._sends[name] = self._sends.get(name, 0) + 1
                condition = self._condition(name)
                if queue is None:
                    condition.notify_all()
                else:
                    condition.notify(messages)

    def _alone(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        queued = time.perf_counter()
        with self._lock:
            started = time.perf_counter()
            if self.profiler is not None:
                self.profiler.enable()
            try:
                # The whole answer is produced under the lock: moto may build it lazily from live objects.
                return list(self._app(environ, start_response))
            finally:
                if self.profiler is not None:
                    self.profiler.disable()
                held = time.perf_counter() - started
                waited = started - queued
                statistics = self.statistics
                statistics.requests += 1
                statistics.waited_seconds += waited
                statistics.held_seconds += held
                statistics.longest_wait_seconds = max(statistics.longest_wait_seconds, waited)

    def wake(self) -> None:
        """Every long poll waiting now answers at once (with what it finds): the runtime is stopping."""
        self._wake_polls(None, stopping=True)

    def _long_poll(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = _json_body(environ)
        if not isinstance(request, dict):
            return self._alone(environ, start_response)
        queue = _queue_name(request) or ""
        wait = float(request.get("WaitTimeSeconds") or 0)
        request["WaitTimeSeconds"] = 0
        immediate = json.dumps(request).encode()
        deadline = time.monotonic() + min(wait, 20.0)
        captured: list[Any] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
            captured[:] = [status, headers, exc_info]
            return lambda _: None

        while True:
            attempt = dict(environ)
            attempt["wsgi.input"] = io.BytesIO(immediate)
            attempt["CONTENT_LENGTH"] = str(len(immediate))
            with self._sent:
                sends = self._sends.get(queue, 0)
            chunks = self._alone(attempt, capture)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._woken or not captured[0].startswith("200") or b'"Messages"' in b"".join(chunks):
                break
            with self._sent:  # a message sent since the attempt wakes this poll at once
                if self._sends.get(queue, 0) == sends and not self._woken:
                    self._condition(queue).wait(min(remaining, _LONG_POLL_RECHECK_SECONDS))
        start_response(*captured)
        return chunks


class Services:
    """moto's server app behind IAM and the lock, with the runtime's own routes."""

    def __init__(self, *, lambda_url: str, services_url: str, iam: bool = True) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from pollgate_local import adapters

        adapters.check_version()
        adapters.execute_state_machines()
        adapters.express_semantics()
        adapters.faster_moto()
        adapters.interpreter_clients(
            services_url=services_url, lambda_url=lambda_url, credentials_of=self._state_machine_credentials
        )
        self.serialized = Serialized(DomainDispatcherApplication(create_backend_app))
        self.iam = iam
        self._authorizer: Any = None
        self._state_machines: dict[str, str] = {}
        self._workflows_url = ""

    def _state_machine_credentials(self, state_machine_arn: str) -> dict[str, str] | None:
        authorizer, logical_id = self._authorizer, self._state_machines.get(state_machine_arn)
        if authorizer is None or logical_id is None:
            return None
        environment: dict[str, str] = authorizer.policies.principal(logical_id).environment()
        return environment

    def install_policies(self, document: dict[str, Any]) -> None:
        from pollgate_local.iam import Authorizer, PolicySet

        policies = PolicySet.from_json(document["policies"])
        self._state_machines = dict(document.get("state_machines") or {})
        if self.iam:
            self._authorizer = Authorizer(policies, on_denied=lambda denial: print(denial.log_line(), flush=True))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self._workflows_url and (
            str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("AWSStepFunctions.") or path == _PREFIX + "executions"
        ):
            # Step Functions live in a process of their own; one endpoint still serves every client.
            return _forward(self._workflows_url, environ, start_response)
        if path.startswith(_PREFIX):
            return self._own(Request(environ))(environ, start_response)
        authorizer = self._authorizer
        if authorizer is None:
            return self.serialized(environ, start_response)
        checked: Iterable[bytes] = authorizer.wsgi(self.serialized)(environ, start_response)
        return checked

    def _own(self, request: Request) -> Response:
        from pollgate_local import adapters

        name = request.path[len(_PREFIX) :]
        if name == "executions" and request.method == "GET":
            with self.serialized._lock:
                found = adapters.executions(
                    request.args.get("stateMachineArn"), history=request.args.get("history") == "1"
                )
            return _json(found)
        if name == "lock" and request.method == "GET":
            return _json(self.serialized.statistics.as_dict())
        if name == "wake" and request.method == "POST":
            self.serialized.wake()
            return _json({"woken": True})
        if name == "workflows" and request.method == "PUT":
            self._workflows_url = str(json.loads(request.get_data())["url"])
            return _json({"forwarding": self._workflows_url})
        if name == "policies" and request.method == "PUT":
            self.install_policies(json.loads(request.get_data()))
            return _json({"installed": True, "iam": self.iam})
        return _json({"message": f"no such route {request.method} {request.path}"}, 404)


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def _forward(base_url: str, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The request, as it came, to the services at `base_url`; their answer, as it came."""
    import http.client

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    target = urllib.parse.urlsplit(base_url)
    path = environ.get("PATH_INFO", "/") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
    try:
        connection.request(environ.get("REQUEST_METHOD", "POST"), path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        relayed = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{answer.status} {answer.reason}", [*relayed, ("Content-Length", str(len(data)))])
        return [data]
    finally:
        connection.close()


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, headers={"Content-Type": "application/json"})


def _keep_alive_server(app: WsgiApp, host: str, port: int) -> Any:
    """waitress serving `app` with HTTP/1.1 keep-alive, as AWS's endpoints do: every SDK client (each sandbox's,
    the workflows') reuses its connections. werkzeug's server closes every connection after one answer, so each
    AWS call was a new connection and a new server thread, on both sides. Side by side on the ThingSpace bench
    (500 actions): the services' and sandboxes' CPU 88-95 s -> 78-83 s, every callback in 50-51 s -> 42-46 s.

    Every request runs on one of a fixed number of threads; the lock lets one at a time into moto, and an SQS long
    poll holds its thread while it waits, so there are threads enough for every poller and then some."""
    import logging

    import waitress

    logging.getLogger("waitress").setLevel(logging.ERROR)  # "task queue depth": requests waiting for the lock
    return waitress.create_server(
        app,
        host=host,
        port=port,
        threads=_SERVER_THREADS,
        connection_limit=_SERVER_CONNECTIONS,
        channel_timeout=_IDLE_CONNECTION_SECONDS,
        asyncore_use_poll=True,  # no select(): more than 1,024 descriptors
        ident="pollgate-services",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pollgate_local.services")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lambda-url", required=True)
    parser.add_argument(
        "--services-url", help="where the ASL interpreter's non-Lambda tasks go (default: these services)"
    )
    parser.add_argument("--no-iam", action="store_true")
    args = parser.parse_args(argv)

    holder: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # moto reads the undecoded path (S3 keys with encoded characters) from RAW_URI, as werkzeug names it.
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return holder["services"](environ, start_response)  # type: ignore[no-any-return]

    server = _keep_alive_server(app, args.host, args.port)
    url = f"http://{args.host}:{server.effective_port}"
    holder["services"] = Services(
        lambda_url=args.lambda_url, services_url=args.services_url or url, iam=not args.no_iam
    )
    # waitress ends its loop on KeyboardInterrupt, then gives running requests a few seconds (the runtime has
    # woken every long poll before it stops the services).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # POLLGATE_SERVICES_PROFILE=<file>: where the services spend their time, for whoever makes them faster.
    profile_to = os.environ.get("POLLGATE_SERVICES_PROFILE")
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        holder["services"].serialized.profiler = profiler
    print(READY + url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if profile_to:
        profiler.dump_stats(f"{profile_to}.{os.getpid()}")
    return 0


class ServicesProcess:
    """The services as the runtime sees them: started, told the roles, read, stopped (always, and at once)."""

    def __init__(
        self,
        *,
        lambda_url: str,
        services_url: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        iam: bool = True,
        echo: Callable[[str], None] = print,
        ready_timeout: float = 60.0,
    ) -> None:
        self._command = [
            sys.executable,
            "-m",
            "pollgate_local.services",
            "--host",
            host,
            "--port",
            str(port),
            "--lambda-url",
            lambda_url,
            *(["--services-url", services_url] if services_url else []),
            *([] if iam else ["--no-iam"]),
        ]
        self._echo = echo
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> str:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # The services never call real AWS: nothing they hold may point elsewhere.
        for key in [key for key in environment if key.startswith("AWS_ENDPOINT_URL")]:
            environment.pop(key)
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter running this package
            self._command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
            cwd=str(Path(__file__).resolve().parent),
            preexec_fn=die_with_parent,
        )
        ready = threading.Event()

        def read() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                line = line.rstrip("\n")
                if not ready.is_set() and line.startswith(READY):
                    self.url = line[len(READY) :]
                    ready.set()
                    continue
                self._echo(line)
            ready.set()

        threading.Thread(target=read, name="services-output", daemon=True).start()
        if not ready.wait(self._ready_timeout) or not self.url:
            self.stop()
            raise RuntimeError("the AWS services process did not start (its output is above)")
        return self.url

    def forward_workflows(self, url: str) -> None:
        self._call("PUT", "workflows", {"url": url})

    def install_policies(self, policies_json: str, state_machines: dict[str, str]) -> None:
        self._call("PUT", "policies", {"policies": policies_json, "state_machines": state_machines})

    def executions(self, state_machine_arn: str | None = None, *, history: bool = False) -> list[dict[str, Any]]:
        query = {key: value for key, value in (("stateMachineArn", state_machine_arn), ("history", "1")) if value}
        if not history:
            query.pop("history", None)
        answer: list[dict[str, Any]] = self._call("GET", "executions?" + urllib.parse.urlencode(query))
        return answer

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._call("POST", "wake", {})

    def lock_statistics(self) -> dict[str, float]:
        answer: dict[str, float] = self._call("GET", "lock")
        return answer

    def _call(self, method: str, route: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + _PREFIX + route, data=data, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - our own loopback server
            return json.loads(answer.read())

    def stop(self) -> None:
        process, self._process = self._process, None
        end(process, grace=3)


if __name__ == "__main__":
    sys.exit(main())
