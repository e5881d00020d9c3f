"""The registries are filled by the functions that need them, in one place (pollgate.registry): the sweeper knows
every workflow, the delivery function every outcome handler, and the delivery function's init loads no face."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

# Run in a fresh interpreter: what a cold start imports is what the test measures.
PROBE = """
import importlib.util, json, sys
sys.path[:0] = [{code!r}, {layer!r}]
spec = importlib.util.spec_from_file_location("app", {code!r} + "/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
modules = sorted(sys.modules)
from pollgate.operations import workflow_for
from pollgate.webhooks.engine import outcome_handler
def known(lookup, name):
    try:
        return lookup(name) is not None
    except LookupError:
        return False
print(json.dumps({{"modules": modules,
                  "workflows": [kind for kind in {kinds!r} if known(workflow_for, kind)],
                  "handlers": [kind for kind in {owner_kinds!r} if known(outcome_handler, kind)]}}))
"""
KINDS = ["thingspace.deviceAction", "uai.statusLog"]
OWNER_KINDS = ["densify.subscription", "thingspace.carrierService"]


def cold_start(function: str) -> dict[str, list[str]]:
    code = str(ROOT / "functions" / function)
    probe = PROBE.format(code=code, layer=str(ROOT / "layers" / "core"), kinds=KINDS, owner_kinds=OWNER_KINDS)
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "TABLE_NAME": "pollgate-test"},
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_the_delivery_function_knows_every_owner_kind_and_loads_no_face_at_init() -> None:
    loaded = cold_start("webhook_delivery")
    assert loaded["handlers"] == OWNER_KINDS
    assert loaded["workflows"] == []
    assert not [
        name
        for name in loaded["modules"]
        if name.startswith(("pollgate.densify.", "pollgate.thingspace.", "pollgate.uai."))
        and not name.endswith(".items")
    ]


def test_the_sweeper_knows_every_kind_of_operation() -> None:
    loaded = cold_start("operation_sweeper")
    assert loaded["workflows"] == KINDS
