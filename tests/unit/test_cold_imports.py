"""What a cold start loads: the X-Ray SDK only for an invocation X-Ray samples (bench_cold_start measures the rest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACED = sorted(
    app.parent.name for app in (ROOT / "functions").glob("*/app.py") if "pollgate.tracing" in app.read_text()
)
ENV = {
    **os.environ,
    "TABLE_NAME": "t",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "PYTHONPATH": str(ROOT / "layers" / "core"),
}


def run(code: str, cwd: Path = ROOT, **env: str) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_traced_functions_are_the_background_ones() -> None:
    assert TRACED == [
        "densify_scheduler",
        "operation_sweeper",
        "thingspace_device_action_worker",
        "uai_status_log_worker",
        "webhook_delivery",
        "webhook_recovery_worker",
        "webhook_retry",
    ]


@pytest.mark.parametrize("function", TRACED)
def test_a_traced_function_does_not_load_the_xray_sdk_at_init(function: str) -> None:
    loaded = run(
        "import sys\nsys.path.insert(0, '.')\nimport app\nprint('aws_xray_sdk' in sys.modules)",
        cwd=ROOT / "functions" / function,
    )
    assert loaded == "False"


def test_an_unsampled_invocation_runs_untraced_and_a_sampled_one_loads_the_tracer() -> None:
    code = """
import os, sys
from pollgate.tracing import tracer

@tracer.capture_lambda_handler
def handler(event, context):
    return {"got": event}

os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
print(handler(1, None), tracer.loaded, 'aws_xray_sdk' in sys.modules)
os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
print(handler(2, None), tracer.loaded, handler.__name__)
"""
    unsampled, sampled = run(code, POWERTOOLS_TRACE_DISABLED="1").splitlines()
    assert unsampled == "{'got': 1} False False"
    assert sampled == "{'got': 2} True handler"
