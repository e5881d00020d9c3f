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


FUNCTIONS = sorted(app.parent.name for app in (ROOT / "functions").glob("*/app.py"))
# Loaded by no function at init: Powertools' batch utility and its parser (the webhook consumer answers partial
# batches itself) and the X-Ray SDK (loaded at a sampled invocation).
NEVER_AT_INIT = ("aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.parser", "aws_xray_sdk")
# Background functions whose invocations need no pydantic model: the delivery consumer (a face's code, and its
# models, load at the first outcome of that face's deliveries), the retrier, the sweeper (each workflow's
# definition is apart from its face's models) and both workflows' workers.
NO_PYDANTIC_AT_INIT = [
    "operation_sweeper",
    "thingspace_device_action_worker",
    "uai_status_log_worker",
    "webhook_delivery",
    "webhook_retry",
]


def _loaded_at_init(function: str, modules: tuple[str, ...]) -> list[str]:
    shown = run(
        f"import sys\nsys.path.insert(0, '.')\nimport app\nprint(','.join(m for m in {modules!r} if m in sys.modules))",
        cwd=ROOT / "functions" / function,
    )
    return [m for m in shown.split(",") if m]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_loads_the_batch_utility_or_the_xray_sdk_at_init(function: str) -> None:
    assert _loaded_at_init(function, NEVER_AT_INIT) == []


@pytest.mark.parametrize("function", NO_PYDANTIC_AT_INIT)
def test_the_background_functions_load_neither_pydantic_nor_asyncio_at_init(function: str) -> None:
    assert (
        _loaded_at_init(function, ("pydantic", "asyncio", "pollgate.densify.models", "pollgate.thingspace.models"))
        == []
    )


def test_the_workers_tasks_and_a_carrier_service_outcome_load_no_pydantic() -> None:
    # What the workers' invocations load (the backend, device results, the callbacks they queue; the device
    # history) and what the delivery function loads at a CarrierService attempt's outcome: no face's models.
    face_modules = ("pydantic", "pollgate.thingspace.models", "pollgate.thingspace.auth", "pollgate.uai.models")
    code = (
        "import sys, pollgate.thingspace.tasks, pollgate.thingspace.inventory, pollgate.thingspace.device_results\n"
        "import pollgate.thingspace.carrier_service, pollgate.uai.history\n"
        f"print([m for m in {face_modules!r} if m in sys.modules])"
    )
    assert run(code) == "[]"


def test_the_settings_and_the_webhook_engine_load_no_pydantic() -> None:
    code = "import sys, pollgate.settings, pollgate.webhooks, pollgate.webhooks.store\nprint('pydantic' in sys.modules)"
    assert run(code) == "False"


def test_a_face_model_builds_its_schema_at_its_first_use_not_at_import() -> None:
    code = """
import pollgate.densify.models, pollgate.thingspace.models, pollgate.uai.models
from pollgate.models import Model
def every(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from every(sub)
models = [m for m in every(Model) if not m.__name__.startswith('_')]
built = sorted(m.__name__ for m in models if m.__pydantic_complete__)
from pollgate.densify.models import AuthorizeRequest
AuthorizeRequest.model_validate({"userName": "u", "pwd": "p"})
print(len(models) > 40, built, AuthorizeRequest.__pydantic_complete__)
"""
    assert run(code) == "True [] True"
