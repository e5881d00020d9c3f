"""Demo data, one plug-in per API face: `pollgate run` seeds each face and prints ready-to-paste curl lines.

A face adds `local/pollgate_local/demo/<face>.py` with::

    def seed(ctx: DemoContext) -> list[str]:
        ...                 # create what a newcomer needs to try the face (through the real handlers)
        return [ctx.curl("GET", "/some/path", headers={...}), ...]

Seeds run once, in name order, after every server is up, so `ctx.request` reaches the real HTTP API. What
`ctx` offers:

- `base_url`: the HTTP API, e.g. http://127.0.0.1:3000
- `admin_secret`: the value of the template's AdminSecret (`Authorization: Bearer <it>` on admin routes)
- `secrets`: every secret of the template by logical id -> its local value
- `table_name`: the local name of the template's Table; `environment`: the variables every function sees
- `stack`: the LocalStack (its `provisioned` names and ARNs, `functions`, `wait_for_execution`)
- `invoke(logical_id, event)`: run one function in process and get its answer
- `request(method, path, body=None, headers=None)`: a real HTTP call to base_url -> (status, parsed JSON body)
- `curl(method, path, body=None, headers=None)`: the same call as a one-line curl command to print
- `state_dir`: a folder (build/local) for files a face hands the newcomer (keys, tokens)

A seed that raises is reported in one line and the others still run: one face must not keep `make run` down.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pollgate_local.client import call
from pollgate_local.stack import LocalStack


@dataclass
class DemoContext:
    base_url: str
    stack: LocalStack
    state_dir: Path

    @property
    def secrets(self) -> dict[str, str]:
        return self.stack.provisioned.secret_values

    @property
    def admin_secret(self) -> str:
        return self.secrets.get("AdminSecret", "")

    @property
    def table_name(self) -> str:
        return self.stack.provisioned.tables.get("Table", "")

    @property
    def environment(self) -> dict[str, str]:
        return self.stack.provisioned.shared_environment

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self.stack.invoke(logical_id, event)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        answer = call(self.base_url, method, path, body, headers)
        return answer.status, answer.body

    def curl(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> str:
        parts = ["curl", "-sS", "-i"]
        if method != "GET":
            parts += ["-X", method]
        for name, value in (headers or {}).items():
            parts += ["-H", f"{name}: {value}"]
        if body is not None:
            parts += ["-H", "Content-Type: application/json", "-d", json.dumps(body, separators=(",", ":"))]
        parts.append(self.base_url + path)
        return shlex.join(parts)


Seed = Callable[[DemoContext], list[str]]


def seeds() -> list[tuple[str, Seed]]:
    """Every demo/<face>.py that has a seed(), in name order."""
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        seed = getattr(loaded, "seed", None)
        if callable(seed):
            found.append((module.name, seed))
    return found


def run_seeds(ctx: DemoContext, report: Callable[[str], None]) -> dict[str, list[str]]:
    """Seed every face; returns its curl lines by face. A failing face is reported and skipped."""
    lines: dict[str, list[str]] = {}
    for face, seed in seeds():
        try:
            lines[face] = list(seed(ctx))
        except Exception as error:  # one face's broken demo must not take the others down
            report(f"demo data for {face} failed: {type(error).__name__}: {error}")
    return lines
