"""Cold initialisation of every function against a boto3 baseline, and the AWS calls each warm request makes.

Cold init: a fresh interpreter imports the function's app.py and creates its DynamoDB client (every function
has one), best of several runs; the baseline imports boto3 and creates one client. Goal: ratio <= 1.3. Both
interpreters see only what Lambda would: the packages installed here that the layer lacks are hidden first.
Each function's runs alternate with the baseline's, and each run counts the CPU time the interpreter spent
(time.process_time): on a machine shared with other work, wall time measures the neighbours; init is CPU-bound
imports, so its CPU time is what Lambda's init phase spends on its own share of a core.
`python -m bench.bench_cold_start --instructions [function ...]` counts instructions instead (valgrind's callgrind,
the interpreter's own start-up subtracted from both): the same every run whatever else the machine is doing,
though blind to the kernel's time reading the extra files.
`python -m bench.bench_cold_start --built [function ...]` measures the build instead, as Lambda loads it (Python
3.13, the function's folder and its layers alone, the bytecode `make build` ships, none written); `make bench`
prints both.
Warm calls: a warm function on moto, with a botocore `before-call` hook counting every AWS API call
(goal: poll 1, submit 2 at most, device-key lookup 0).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.figures import Figure, Figures

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
# Before the clock starts, what Lambda lacks is hidden (pollgate_local/lambda_imports.py): with awscrt or pyOpenSSL
# merely installed, `import boto3` loads them, which it does not on Lambda (and then both sides look cheaper).
_HIDE = (
    "import sys\nfrom pollgate_local.lambda_imports import AbsentOnLambda\n"
    "sys.meta_path.insert(0, AbsentOnLambda(frozenset({absent!r})))\n"
)
_TIMER = "{hide}import time\nstart = time.process_time()\n{code}\nprint(time.process_time() - start)\n"
_BASELINE = "import boto3\nboto3.client('dynamodb')"
_ENV = {
    "TABLE_NAME": "pollgate-bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "PYTHONPATH": str(ROOT / "layers" / "core"),
}


_FUNCTION_INIT = "import sys\nsys.path.insert(0, '.')\nimport app\nimport pollgate.aws\npollgate.aws.dynamodb()"


@functools.cache
def _hide() -> str:
    from pollgate_local.lambda_imports import absent_on_lambda

    return _HIDE.format(absent=sorted(absent_on_lambda()))


def _environment() -> dict[str, str]:
    """This process's environment with the bench's own, minus PYTHONDONTWRITEBYTECODE: the baseline's boto3 has its
    bytecode from pip, so the function's own modules must be allowed theirs (as `make build` ships them)."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, **_ENV}


def _once(code: str, cwd: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _TIMER.format(hide=_hide(), code=code)],
        cwd=cwd,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def _best_of(code: str, cwd: Path, runs: int = RUNS) -> float:
    return min(_once(code, cwd) for _ in range(runs))


def init_seconds(function_folder: Path, runs: int = RUNS) -> float:
    """A function's cold init: a fresh interpreter imports its app.py and makes its DynamoDB client (best of runs)."""
    return _best_of(_FUNCTION_INIT, function_folder, runs)


def init_against_baseline(function_folder: Path, runs: int = RUNS) -> tuple[float, float]:
    """(function, baseline) cold init, best of `runs` each, the runs alternating."""
    function: list[float] = []
    baseline: list[float] = []
    for _ in range(runs):
        function.append(_once(_FUNCTION_INIT, function_folder))
        baseline.append(_once(_BASELINE, ROOT))
    return min(function), min(baseline)


def cold_start(names: list[str] | None = None) -> Figures:
    figures: Figures = {}
    baselines = []
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        if names and app.parent.name not in names:
            continue
        seconds, baseline = init_against_baseline(app.parent)
        baselines.append(baseline)
        figures[f"cold_init_ratio.{app.parent.name}"] = Figure(round(seconds / baseline, 2), "x", "<= 1.3")
    figures["cold_init.baseline_boto3_client"] = Figure(round(min(baselines) * 1000, 1), "ms CPU", "")
    return figures


def instructions(code: str, cwd: Path) -> int:
    """Instructions a fresh interpreter spends running `code` (valgrind's callgrind), its .pyc files written."""
    environment = _environment()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, timeout=60, check=True)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    counted = re.search(r"Collected : (\d+)", done.stderr)
    if counted is None:
        raise RuntimeError(f"callgrind counted nothing: {done.stderr[-500:]}")
    return int(counted.group(1))


def cold_start_instructions(names: list[str] | None = None) -> Figures:
    """Each function's cold init against the baseline, in instructions (start-up subtracted from both)."""
    start_up = instructions(_hide() + "import time", ROOT)
    baseline = instructions(_hide() + _BASELINE, ROOT) - start_up
    figures: Figures = {}
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        if names and app.parent.name not in names:
            continue
        spent = instructions(_hide() + _FUNCTION_INIT, app.parent) - start_up
        figures[f"cold_init_instructions_ratio.{app.parent.name}"] = Figure(round(spent / baseline, 2), "x", "<= 1.3")
    figures["cold_init_instructions.baseline_boto3_client"] = Figure(round(baseline / 1e9, 3), "G instr", "")
    return figures


# The build as Lambda loads it (`make build-check`: this machine's architecture, compiled as `make build` compiles):
# Python 3.13 in isolated mode, the function's folder and its layers on the path and nothing else, no bytecode
# written (Lambda's /var/task and /opt are read-only).
BUILT_RUNS = 5
_BUILT_TIMER = (
    "import sys\nsys.path[:0] = {path!r}\nimport time\nstart = time.process_time()\n{code}\n"
    "print(time.process_time() - start)\n"
)
_BUILT_FUNCTION_INIT = "import app\nimport pollgate.aws\npollgate.aws.dynamodb()"
_BUILT_ENV = {key: value for key, value in _ENV.items() if key != "PYTHONPATH"} | {"PATH": "/usr/bin:/bin"}


def _built_once(python: str, path: list[str], code: str) -> float:
    done = subprocess.run(
        [python, "-I", "-S", "-B", "-c", _BUILT_TIMER.format(path=path, code=code)],
        cwd=path[0],
        env=_BUILT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def cold_start_built(names: list[str] | None = None) -> Figures:
    """Each built function's cold init against the built layer's boto3 + one client, as Lambda would run them."""
    from samcli.yamlhelper import yaml_parse

    from tests.helpers.build import BUILD as build
    from tests.helpers.build import python313

    python = python313()
    if not (build / "template.yaml").exists() or python is None:
        print("  no build output or no Python 3.13 (make build-check): the built cold starts are not measured")
        return {}
    built = yaml_parse((build / "template.yaml").read_text())["Resources"]
    source = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    layers = {
        logical_id: str(build / resource["Properties"]["ContentUri"] / "python")
        for logical_id, resource in built.items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    }
    figures: Figures = {}
    baselines: list[float] = []
    for logical_id, resource in sorted(built.items()):
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        folder = Path(str(source[logical_id]["Properties"]["CodeUri"])).name
        if names and folder not in names:
            continue
        on_path = [str(build / resource["Properties"]["CodeUri"]), *layers.values()]
        function, baseline = [], []
        for _ in range(BUILT_RUNS):
            function.append(_built_once(python, on_path, _BUILT_FUNCTION_INIT))
            baseline.append(_built_once(python, on_path[1:], _BASELINE))
        baselines.append(min(baseline))
        figures[f"cold_init_built_ratio.{folder}"] = Figure(round(min(function) / min(baseline), 2), "x", "<= 1.3")
        figures[f"cold_init_built_ms.{folder}"] = Figure(round(min(function) * 1000, 1), "ms CPU", "")
    if baselines:
        figures["cold_init_built.baseline_boto3_client"] = Figure(round(min(baselines) * 1000, 1), "ms CPU", "")
    return figures


class CallCounter:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def during(self, action: Callable[[], Any]) -> list[str]:
        self.calls.clear()
        action()
        return list(self.calls)


def warm_calls() -> Figures:
    """Each call counted after one warm-up request, on moto, through the real handlers."""
    import boto3
    from moto import mock_aws

    sys.path.insert(0, str(ROOT))
    os.environ.update(_ENV)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    from pollgate import aws, settings

    from tests.aws_fixtures import create_table
    from tests.conftest import DeviceKey
    from tests.integration.conftest import Function

    counter = CallCounter()
    with mock_aws():
        create_table("pollgate-bench")
        os.environ["ADMIN_SECRET_ARN"] = boto3.client("secretsmanager").create_secret(
            Name="admin", SecretString="bench-admin"
        )["ARN"]
        machine = boto3.client("stepfunctions").create_state_machine(
            name="noop",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        os.environ["UAI_STATUS_LOG_STATE_MACHINE_ARN"] = machine
        settings.reset_settings()
        aws.reset_clients()
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call", counter)

        key = DeviceKey()
        Function("uai_upload_key").http(
            "PUT",
            "/flexnet/operations/api/updates/update-authorization-key",
            body={"publicKey": key.public_b64},
            headers={"Authorization": "Bearer bench-admin"},
        )
        submit, poll = Function("uai_submit_status_log"), Function("uai_poll_status_log")
        report = {
            "id": "d",
            "idType": "STRING",
            "language": 1033,
            "packageId": "p",
            "platform": "WIN64",
            "publisherName": "acme",
            "statusCode": 1,
            "statusReason": "",
            "timeStamp": "2026-11-22T10:00:00Z",
            "updateId": "u",
            "updateName": "U",
        }
        headers = {"Authorization": f"Bearer {key.token()}"}

        def do_submit() -> str:
            answer = submit.http("POST", "/uai/2.0/updates/statusLog", body=report, headers=headers)
            assert answer["statusCode"] == 202, answer
            return str(json.loads(answer["body"])["url"]).rsplit("/", 1)[1]

        def do_poll(pid: str) -> None:
            path = f"/uai/2.0/updates/statusLog/{pid}"
            answer = poll.http(
                "GET", path, route="/uai/2.0/updates/statusLog/{pollingId}", path_parameters={"pollingId": pid}
            )
            assert answer["statusCode"] in (200, 202), answer

        from pollgate.uai.auth import verify_device_token

        pid = do_submit()
        do_poll(pid)
        submit_calls = counter.during(do_submit)
        poll_calls = counter.during(lambda: do_poll(pid))
        key_calls = counter.during(lambda: verify_device_token(headers["Authorization"]))
    print(f"  warm submit calls: {submit_calls}; warm poll calls: {poll_calls}; key lookup calls: {key_calls}")
    return {
        "warm_aws_calls.poll": Figure(len(poll_calls), "calls", "<= 1"),
        "warm_aws_calls.submit": Figure(len(submit_calls), "calls", "<= 2"),
        "warm_aws_calls.key_lookup": Figure(len(key_calls), "calls", "<= 0"),
    }


def run() -> Figures:
    print(f"  cold init on {sys.version.split()[0]} ({RUNS} runs each, best kept)")
    sources = cold_start()
    print(f"  cold init of the build on Python 3.13 ({BUILT_RUNS} runs each, best kept)")
    return {**sources, **cold_start_built(), **warm_calls()}


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--instructions"]:
        measured = cold_start_instructions(arguments[1:])
    elif arguments[:1] == ["--built"]:
        measured = cold_start_built(arguments[1:])
    else:
        measured = cold_start(arguments)
    for figure_name, figure in measured.items():
        print(f"{figure_name:60s} {figure.value:>8} {figure.unit:8s} {figure.goal}")
