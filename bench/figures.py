"""The figure type every benchmark module returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    value: float | int
    unit: str
    goal: str  # e.g. "<= 1.3", ">= 100", "" when the figure is informative only

    def met(self) -> bool | None:
        if not self.goal:
            return None
        op, _, bound = self.goal.partition(" ")
        limit = float(bound)
        return {
            "<=": self.value <= limit,
            ">=": self.value >= limit,
            "<": self.value < limit,
            ">": self.value > limit,
            "==": self.value == limit,
        }[op]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


Figures = dict[str, Figure]


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` (0.95: p95) of `values` by nearest rank; -1.0 when there are none."""
    if not values:
        return -1.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
