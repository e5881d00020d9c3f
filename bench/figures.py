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
