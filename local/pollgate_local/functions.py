"""Lambda functions run in this process: each its own module namespace, a pool of warm instances, a deadline.

Every function in the template has an `app.py`, so each is loaded under its own module name
(`pollgate_local.fn.<LogicalId>.<n>`). Like Lambda, one instance serves one invocation at a time: a function
invoked concurrently gets more instances (each a fresh load of its module, so module-level state such as the
Powertools resolver's current event is never shared between two requests in flight), up to `max_instances`.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from pollgate_local import ACCOUNT, REGION

Handler = Callable[[Any, Any], Any]

# Powertools' HTTP resolvers keep the request being handled on their base class (BaseRouter.current_event),
# shared by every resolver in the process: right in Lambda, where a process serves one request at a time, but two
# API Gateway events handled at once here would read each other's headers and body. So handlers given an API
# Gateway event run one at a time in this process; other events (workflow tasks, SQS batches) stay concurrent.
_HTTP_HANDLER_LOCK = threading.Lock()


def _is_api_gateway_event(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("requestContext"), dict)
        and ("http" in event["requestContext"] or "httpMethod" in event)
    )


# The function whose handler runs in this context (None outside handlers): who calls AWS, for the in-process IAM
# check (tests/helpers/iam_guard.py). Set on the handler's own thread; work a handler hands to a pool carries it
# only if submitted in a copy of the context.
running_function: ContextVar[LocalFunction | None] = ContextVar("running_function", default=None)

# How long an invocation waits for a free instance once max_instances are busy (Lambda would throttle).
_INSTANCE_WAIT_SECONDS = 30.0


# The error an invocation ends with when the caller's own limit (API Gateway's 30 s) came before the function's.
INTEGRATION_TIMED_OUT = "Gateway.IntegrationTimeout"


class FunctionError(Exception):
    """A handler raised or timed out; carries what real Lambda puts in its error payload."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []

    def payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.message, "stackTrace": self.stack_trace}


class Function(Protocol):
    """What every caller of a function needs of it: LocalFunction (in process) and SandboxedFunction both are."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]
    max_instances: int

    def invoke(self, event: Any, *, timeout: float | None = None) -> Any: ...

    def load_module(self, instance: str) -> tuple[ModuleType, Path]: ...


@dataclass
class LambdaContext:
    """The attributes of the real Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    """One function of the template, ready to run in process."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str  # "module.attribute", e.g. "app.lambda_handler"
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]
    layers: tuple[str, ...] = ()
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions
    max_instances: int = 16
    _free: list[Handler] = field(default_factory=list, repr=False)
    _created: int = field(default=0, repr=False)
    _pool: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def invoke(self, event: Any, *, timeout: float | None = None) -> Any:
        """Run the handler once with `event`; raises FunctionError as Lambda reports an unhandled error.
        `timeout`: the caller's own limit (API Gateway's), when shorter than the function's."""
        serialised = _is_api_gateway_event(event)
        # Waiting for the HTTP handler lock is this runtime's artefact, not the function's time: on AWS each
        # request has a sandbox of its own. So the wait is bounded like a throttle, and the timeout starts after.
        if serialised and not _HTTP_HANDLER_LOCK.acquire(timeout=_INSTANCE_WAIT_SECONDS):
            raise FunctionError("TooManyRequestsException", f"{self.logical_id}: the runtime is saturated")
        try:
            handler = self._checkout()
        except BaseException:
            if serialised:
                _HTTP_HANDLER_LOCK.release()
            raise
        started = time.monotonic()
        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            deadline=started + self.timeout_seconds,
            log_group_name=f"/aws/lambda/{self.name}",
        )
        outcome: dict[str, Any] = {}

        def run() -> None:
            running_function.set(self)  # this thread's own context: nothing to reset
            try:
                outcome["result"] = handler(event, context)
            except Exception as error:  # every handler error becomes Lambda's error payload
                outcome["error"] = FunctionError(
                    type(error).__name__, str(error), traceback.format_exception(error)[1:]
                )
            finally:
                if serialised:
                    _HTTP_HANDLER_LOCK.release()  # held until the handler really returns, even past a timeout
                self._checkin(handler)  # a timed-out instance stays busy until its handler really returns

        # The handler runs on its own thread so that a timeout answers like Lambda even though Python
        # cannot kill it; the instance only returns to the pool when the handler ends.
        worker = threading.Thread(target=run, name=f"lambda-{self.logical_id}", daemon=True)
        worker.start()
        limit = min(self.timeout_seconds, timeout) if timeout else self.timeout_seconds
        worker.join(limit)
        if worker.is_alive():
            if limit < self.timeout_seconds:
                raise FunctionError(INTEGRATION_TIMED_OUT, f"no answer within the caller's {limit:.0f} s")
            raise FunctionError("Sandbox.Timedout", f"Task timed out after {self.timeout_seconds:.2f} seconds")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")

    def _checkout(self) -> Handler:
        deadline = time.monotonic() + _INSTANCE_WAIT_SECONDS
        with self._pool:
            while not self._free and self._created >= self.max_instances:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FunctionError("TooManyRequestsException", f"{self.logical_id}: all instances busy")
                self._pool.wait(remaining)
            if self._free:
                return self._free.pop()
            self._created += 1
            number = self._created
        try:
            return self._load(number)
        except BaseException:
            with self._pool:
                self._created -= 1
                self._pool.notify()
            raise

    def _checkin(self, handler: Handler) -> None:
        with self._pool:
            self._free.append(handler)
            self._pool.notify()

    def _load(self, number: int) -> Handler:
        """A cold start: load the handler's module under a name of its own and return the handler."""
        module, source = self.load_module(str(number))
        attribute = self.handler.rpartition(".")[2]
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise FunctionError("Runtime.HandlerNotFound", f"{self.handler} is not a function in {source}")
        return handler  # type: ignore[no-any-return]

    def load_module(self, instance: str) -> tuple[ModuleType, Path]:
        """The handler's module, freshly loaded as `pollgate_local.fn.<LogicalId>.<instance>`, and its file."""
        module_path = self.handler.rpartition(".")[0]
        source = self.code_dir / (module_path.replace(".", "/") + ".py")
        module_name = f"pollgate_local.fn.{self.logical_id}.{instance}"
        spec = importlib.util.spec_from_file_location(module_name, source)
        if spec is None or spec.loader is None:
            raise FunctionError("Runtime.ImportModuleError", f"cannot load {source}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # pydantic and dataclasses resolve annotations through sys.modules
        with _IMPORT_LOCK:
            code_dir = str(self.code_dir)
            sys.path.insert(0, code_dir)  # a handler may import helpers that sit beside it
            try:
                spec.loader.exec_module(module)
            except Exception as error:
                sys.modules.pop(module_name, None)
                raise FunctionError("Runtime.ImportModuleError", f"{source}: {error}") from error
            finally:
                sys.path.remove(code_dir)
        return module, source


_IMPORT_LOCK = threading.Lock()


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
