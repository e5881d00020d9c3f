"""Retry schedules: the Svix reference with +-20% jitter, and ThingSpace's fixed 3 x 5 minutes."""

from __future__ import annotations

import random

import pytest
from pollgate.webhooks import SVIX_SCHEDULE, THINGSPACE_SCHEDULE, RetrySchedule


def test_svix_schedule_is_eight_attempts_with_jittered_delays() -> None:
    rng = random.Random(7)
    assert SVIX_SCHEDULE.max_attempts == 8
    for attempt, base in enumerate((5, 300, 1800, 7200, 18000, 36000, 36000), start=1):
        draws = [SVIX_SCHEDULE.delay_after(attempt, rng) for _ in range(200)]
        assert all(d is not None and 0.8 * base <= d <= 1.2 * base for d in draws)
        assert len(set(draws)) > 100  # actually jittered, not a constant
    assert SVIX_SCHEDULE.delay_after(8, rng) is None


def test_thingspace_schedule_is_three_retries_five_minutes_apart() -> None:
    assert THINGSPACE_SCHEDULE.max_attempts == 4
    assert [THINGSPACE_SCHEDULE.delay_after(n) for n in (1, 2, 3, 4)] == [300, 300, 300, None]


@pytest.mark.parametrize(("delays", "jitter"), [((5, -1), 0.2), ((5,), 1.0), ((5,), -0.1)])
def test_nonsense_schedules_are_refused(delays: tuple[float, ...], jitter: float) -> None:
    with pytest.raises(ValueError):
        RetrySchedule(delays, jitter)
