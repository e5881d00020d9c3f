"""Dates as the vendor prints them: Java's Date.toString(), e.g. "Thu Jan 02 16:41:52 UTC 2020" (always UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

# Fixed English names: strftime's %a and %b follow the process locale, the vendor's output does not.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def java_date(at: float) -> str:
    moment = datetime.fromtimestamp(at, tz=UTC)
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} UTC {moment.year}"
    )


def epoch_of_iso(text: str) -> float:
    """Epoch seconds of an ISO-8601 time such as the webhook engine's `2026-11-22T10:00:00.000Z`."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
