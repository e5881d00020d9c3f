"""When a subscription's webhook is pushed: `schedule.dayofWeek` (1 = Monday ... 7 = Sunday; none = daily).

A subscription that pushes (active, with a webhook that has not answered 410) carries duePk/dueAt in the sparse
`due` index. A new or changed one is due at once when today is one of its days (its first results go out at
the next scheduler run), else at the push hour (DENSIFY_PUSH_HOUR_UTC) of its next day. After each run it is
due at the push hour of its next day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pollgate.settings import get_settings

ALL_DAYS = (1, 2, 3, 4, 5, 6, 7)


def days_of(schedule: Mapping[str, Any] | None) -> tuple[int, ...]:
    days = (schedule or {}).get("dayofWeek") or ALL_DAYS
    return tuple(int(day) for day in days)


def pushes_on(at: float, schedule: Mapping[str, Any] | None) -> bool:
    return datetime.fromtimestamp(at, tz=UTC).isoweekday() in days_of(schedule)


def first_due(now: float, schedule: Mapping[str, Any] | None) -> float:
    return now if pushes_on(now, schedule) else next_due(now, schedule)


def next_due(now: float, schedule: Mapping[str, Any] | None) -> float:
    """The push hour of the first allowed day strictly after today."""
    days = days_of(schedule)
    hour = get_settings().densify_push_hour_utc
    today = datetime.fromtimestamp(now, tz=UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    for ahead in range(1, 8):  # some day within the next week is always allowed
        candidate = today + timedelta(days=ahead)
        if candidate.isoweekday() in days:
            return candidate.timestamp()
    raise ValueError(f"no push day in {days}")
