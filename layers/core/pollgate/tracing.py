"""X-Ray tracing with Powertools Tracer, loaded only for an invocation X-Ray samples.

Only the background functions (workflow tasks, the sweeper, the scheduler, webhook delivery) use it; the
synchronous API functions keep Lambda's own active tracing (Tracing: Active), which records each sampled
invocation. Lambda samples a fixed share of invocations (the first each second and 5% of the rest) and says so
in `_X_AMZN_TRACE_ID` (`Sampled=1`). Loading the X-Ray SDK (and patching botocore) costs more at a cold start than
boto3 itself does, so it is loaded at the first sampled invocation, not at init: the 95% never pay for it, and a
sampled one still gets its subsegments for every AWS call and webhook POST.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])


def sampled() -> bool:
    """Whether X-Ray samples the current invocation (Lambda sets the header before each one)."""
    return "Sampled=1" in os.environ.get("_X_AMZN_TRACE_ID", "")


class LazyTracer:
    """`@tracer.capture_lambda_handler` as Powertools has it, with the Tracer made at the first sampled call."""

    def __init__(self) -> None:
        self._tracer: Any = None

    @property
    def loaded(self) -> bool:
        return self._tracer is not None

    def powertools(self) -> Any:
        """The Powertools Tracer (the X-Ray SDK loaded and botocore patched the first time)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer()
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        traced: list[Callable[..., Any]] = []

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            if not sampled():
                return handler(event, context)
            if not traced:
                traced.append(self.powertools().capture_lambda_handler(handler))
            return traced[0](event, context)

        return run  # type: ignore[return-value]


tracer = LazyTracer()
