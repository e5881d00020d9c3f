"""One way for a test to wait: `eventually(condition, timeout)`, never a bare sleep and hope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_INTERVAL_SECONDS = 0.05


def eventually(
    condition: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = POLL_INTERVAL_SECONDS,
    what: str = "the condition",
) -> T:
    """Call `condition` until it answers something truthy, and answer that; fail once `timeout` seconds passed.
    (A condition answering None while it waits answers its other type here.)

    The timeout bounds the wait only: how long the wait took is never asserted (that is a benchmark's job).
    """
    deadline = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s (last answer: {answer!r})")
        time.sleep(interval)
