"""The one source of "now", so tests can move time instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_now: Callable[[], float] = time.time


def epoch() -> float:
    return _now()


def now() -> datetime:
    return datetime.fromtimestamp(_now(), tz=UTC)


def iso(at: float | None = None) -> str:
    """UTC ISO-8601 with milliseconds: sorts as a string, which the `due` index relies on."""
    moment = datetime.fromtimestamp(epoch() if at is None else at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@contextmanager
def frozen(at: float) -> Iterator[Callable[[float], None]]:
    """Freeze the clock at `at`; the yielded function moves it forward by some seconds."""
    global _now
    current = [at]
    previous = _now
    _now = lambda: current[0]  # noqa: E731

    def advance(seconds: float) -> None:
        current[0] += seconds

    try:
        yield advance
    finally:
        _now = previous
