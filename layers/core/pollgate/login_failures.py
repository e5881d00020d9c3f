"""Failed logins per name, for every face that checks passwords: one place that counts them and slows guessing.

After FREE_FAILURES failures in a row a name is locked for a window that doubles with every further failure, up to
MAX_LOCK_SECONDS (`lock_seconds`); a face may lock longer from some count on (ThingSpace: five failures lock the
name for ThingSpaceLockoutSeconds). Names are counted whether or not a user has them, so neither the answers nor
their timing tell which names exist. Each face keeps the counts under its own key (`key`), one item per name:
`{count, lockedUntil, expiresAt}`, forgotten FAILURE_MEMORY_SECONDS after the last failure (or when its lock ends,
if later).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pollgate.store import Key, Table

FREE_FAILURES = 3
MAX_LOCK_SECONDS = 15 * 60
FAILURE_MEMORY_SECONDS = 24 * 3600


def lock_seconds(failures: int) -> int:
    """How long a name stays locked after `failures` failed logins in a row: nothing for the first FREE_FAILURES - 1,
    then 1 s, doubling, at most MAX_LOCK_SECONDS."""
    if failures < FREE_FAILURES:
        return 0
    return int(min(2 ** min(failures - FREE_FAILURES, 32), MAX_LOCK_SECONDS))


@dataclass(frozen=True)
class LoginFailures:
    count: int
    locked_until: float

    def locked(self, now: float) -> bool:
        return self.locked_until > now


class FailedLogins:
    """The failure counts of one face's names."""

    def __init__(
        self, key: Callable[[str], Key], lock_for: Callable[[int], float] = lock_seconds, table: Table | None = None
    ) -> None:
        self.key = key
        self.lock_for = lock_for
        self.table = table or Table()

    def of(self, name: str) -> LoginFailures:
        item = self.table.get(self.key(name), consistent=True)
        if item is None:
            return LoginFailures(0, 0.0)
        return LoginFailures(int(item.get("count", 0)), float(item.get("lockedUntil", 0)))

    def record(self, name: str, now: float) -> LoginFailures:
        """Count one more failure atomically (concurrent guesses cannot share a count) and set the lock."""
        item = self.table.update(
            self.key(name),
            "ADD #count :one SET expiresAt = :forget",
            names={"#count": "count"},
            values={":one": 1, ":forget": int(now) + FAILURE_MEMORY_SECONDS},
        )
        count = int(item["count"])
        wait = self.lock_for(count)
        locked_until = math.ceil(now + wait) if wait else 0  # no lock at all before FREE_FAILURES
        forget = max(int(now) + FAILURE_MEMORY_SECONDS, locked_until)
        self.table.update(
            self.key(name),
            "SET lockedUntil = :until, expiresAt = :forget",
            values={":until": locked_until, ":forget": forget},
        )
        return LoginFailures(count, float(locked_until))

    def clear(self, name: str) -> None:
        self.table.delete(self.key(name))
