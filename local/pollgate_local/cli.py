"""`pollgate` command: the local runtime (placeholder until the runtime lands)."""


def main() -> None:
    raise SystemExit("pollgate local runtime: not built yet")
