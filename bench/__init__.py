"""`make bench`: every module bench/bench_*.py contributes figures; all are printed and written to build/bench.json."""
