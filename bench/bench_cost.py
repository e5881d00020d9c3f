"""The cost of a million asynchronous operations, pollgate against the naive design (see bench/cost.py)."""

from __future__ import annotations

from bench import cost
from bench.figures import Figure, Figures

# Fewer operations than `make cost`: the medians settle within a few.
OPERATIONS = 5


def run() -> Figures:
    result = cost.report(OPERATIONS)
    ours, naive = (round(sum(costs.values()), 2) for costs in result.costs)
    print(f"  list prices {cost.PRICES_REGION}, {cost.PRICES_DATE}; `make cost` prints every line item")
    return {
        "cost_per_million_ops.pollgate": Figure(ours, "USD", ""),
        "cost_per_million_ops.naive": Figure(naive, "USD", ""),
        "cost_ratio.pollgate_to_naive": Figure(round(result.ratio, 3), "x", "<= 0.1"),
    }
