"""Run every bench/bench_*.py (or those named on the command line), print a table, write build/bench.json."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from bench.figures import Figures

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    figures: Figures = {}
    for name in names:
        module = importlib.import_module(f"bench.{name.removeprefix('bench.')}")
        print(f"running {module.__name__} ...", flush=True)
        figures.update(module.run())
    width = max((len(k) for k in figures), default=10)
    print(f"\n{'figure':<{width}}  {'value':>12}  {'unit':<10} {'goal':<10} met")
    for name, figure in figures.items():
        met = figure.met()
        shown = f"{figure.value:.3f}" if isinstance(figure.value, float) else str(figure.value)
        print(f"{name:<{width}}  {shown:>12}  {figure.unit:<10} {figure.goal:<10} {'' if met is None else met}")
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    existing = json.loads(out.read_text()) if out.exists() and argv else {}
    existing.update({name: figure.as_json() for name, figure in figures.items()})
    out.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
