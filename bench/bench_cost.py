"""The cost of a million asynchronous operations per scenario, pollgate against the naive design (bench/cost.py),
and the DynamoDB units each operation takes by function: a change that adds writes shows up here."""

from __future__ import annotations

from bench import cost
from bench.figures import Figure, Figures

# Fewer operations than `make cost`: the medians settle within a few. Cold init is bench_cold_start's figure.
OPERATIONS = 5
# DynamoDB write units per operation as measured at the end of issue 12: a change that adds writes fails the goal.
WRITE_UNITS_GOAL = {"thingspace": 16, "uai": 7}


def run() -> Figures:
    figures: Figures = {}
    print(f"  list prices {cost.PRICES_REGION}, {cost.PRICES_DATE}; `make cost` prints every line item")
    for result in cost.report(OPERATIONS, cold_init=False):
        name, measured = result.scenario.name, result.measured
        ours, naive = (round(sum(costs.values()), 2) for costs in result.costs)
        figures[f"cost_per_million_ops.{name}.pollgate"] = Figure(ours, "USD", "")
        figures[f"cost_per_million_ops.{name}.naive"] = Figure(naive, "USD", "")
        figures[f"cost_ratio.{name}.pollgate_to_naive"] = Figure(round(result.ratio, 3), "x", "<= 0.1")
        goal = f"<= {WRITE_UNITS_GOAL[name]}" if name in WRITE_UNITS_GOAL else ""
        figures[f"dynamodb_units_per_op.{name}.write"] = Figure(measured.write_units, "WRU", goal)
        figures[f"dynamodb_units_per_op.{name}.read"] = Figure(measured.read_units, "RRU", "")
        for function, (w, r) in sorted(measured.units_by_function.items()):
            figures[f"dynamodb_units_per_op.{name}.{function}.write"] = Figure(w, "WRU", "")
            figures[f"dynamodb_units_per_op.{name}.{function}.read"] = Figure(r, "RRU", "")
        figures[f"log_bytes_per_op.{name}"] = Figure(measured.log_bytes, "B", "")
    return figures
