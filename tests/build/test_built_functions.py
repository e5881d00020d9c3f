"""Every built function imports from the build output alone, as Lambda will load it.

`make build-check` (run by `make test`) builds the template for this machine's architecture into
.aws-sam/build-<arch>; the deployable `make build` is arm64, whose compiled wheels this machine may not load.
Each function is imported by a fresh Python 3.13 in isolated mode whose path holds only what Lambda's holds:
the function's own folder, its layers' `python/` folders, and the SDK the python3.13 runtime ships (boto3 and
s3transfer, copied from the dev environment as a stand-in, after the layers as on Lambda's path). No repository
source, no dev venv: a dependency missing from the layer fails here, not in production. The layer brings its
own boto3 with its botocore (aws-xray-sdk needs botocore), so the SDK a function imports is the layer's, never a
runtime boto3 over the layer's botocore.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

from tests.helpers.build import BUILD, NEEDS_BUILD, ROOT, python313

# What the Lambda python3.13 runtime provides beside the standard library (the layer's own must shadow them).
RUNTIME_PACKAGES = ("boto3", "s3transfer")
# Importable here, never in a built function: proof the subprocess sees none of the development environment.
DEV_ONLY_MODULES = ("pollgate_local", "moto", "pytest", "samcli")

pytestmark = NEEDS_BUILD


def _template(path: Path) -> dict[str, Any]:
    return yaml_parse(path.read_text())  # type: ignore[no-any-return]


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


SOURCE_FUNCTIONS = sorted(_functions(_template(ROOT / "template.yaml")))

# Runs inside the fresh interpreter: import each function's handler with only its own folder and its layers on
# the path, forgetting the modules of the previous function's folder, and report what happened as JSON.
_IMPORTER = r"""
import importlib, json, sys, traceback
plan = json.loads(sys.argv[1])
base = list(sys.path)
report = {"python": list(sys.version_info[:2]), "dev_only": [], "functions": {}}
for name in plan["dev_only"]:
    sys.path[:] = plan["layers_of_any"] + plan["runtime"] + base
    try:
        importlib.import_module(name)
        report["dev_only"].append(name)
    except ImportError:
        pass
for function in plan["functions"]:
    for module in [m for m, v in sys.modules.items() if (getattr(v, "__file__", "") or "").startswith(plan["root"])
                   and not any((getattr(v, "__file__", "") or "").startswith(p) for p in function["layers"])]:
        del sys.modules[module]
    sys.path[:] = [function["code"]] + function["layers"] + plan["runtime"] + base
    module_name, _, attribute = function["handler"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, attribute)
        import boto3, botocore, pollgate
        report["functions"][function["name"]] = {"callable": callable(handler), "pollgate": pollgate.__file__,
                                                 "boto3": boto3.__file__, "botocore": botocore.__file__}
    except BaseException:
        report["functions"][function["name"]] = {"error": traceback.format_exc()}
print(json.dumps(report))
"""


def _python313() -> str:
    found = python313()
    if found is None:
        pytest.fail("the build output exists but no python3.13 was found to import it with")
    return found


def _layer_folders(build: Path, properties: dict[str, Any], template: dict[str, Any]) -> list[str]:
    layers = properties.get("Layers") or template.get("Globals", {}).get("Function", {}).get("Layers", [])
    folders = []
    for layer in layers:
        logical_id = layer["Ref"] if isinstance(layer, dict) else str(layer)
        content = template["Resources"][logical_id]["Properties"]["ContentUri"]
        folders.append(str((build / content / "python").resolve()))
    return folders


@pytest.fixture(scope="module")
def import_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    template = _template(BUILD / "template.yaml")
    runtime = tmp_path_factory.mktemp("lambda-runtime")
    for package in RUNTIME_PACKAGES:
        source = Path(str(importlib.import_module(package).__file__)).parent
        shutil.copytree(source, runtime / package, ignore=shutil.ignore_patterns("__pycache__"))
    functions = [
        {
            "name": name,
            "code": str((BUILD / properties["CodeUri"]).resolve()),
            "handler": properties.get("Handler") or template["Globals"]["Function"]["Handler"],
            "layers": _layer_folders(BUILD, properties, template),
        }
        for name, properties in _functions(template).items()
    ]
    plan = {
        "root": str(BUILD.resolve()),
        "runtime": [str(runtime)],
        "functions": functions,
        "dev_only": list(DEV_ONLY_MODULES),
        "layers_of_any": functions[0]["layers"] if functions else [],
    }
    # What Lambda sets, and fake credentials: importing must not need AWS, and must never reach it.
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(runtime),
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "pollgate",
        "POWERTOOLS_METRICS_NAMESPACE": "pollgate",
        "TABLE_NAME": "pollgate-build-check",
    }
    answer = subprocess.run(  # noqa: S603 - our own interpreter and script
        # -B: nothing written beside the build, as on Lambda, whose /var/task and /opt are read-only.
        [_python313(), "-I", "-S", "-B", "-c", _IMPORTER, json.dumps(plan)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=runtime,
        env=environment,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_import_sees_nothing_of_the_development_environment(import_report: dict[str, Any]) -> None:
    assert import_report["dev_only"] == []
    assert import_report["python"] == [3, 13]  # the python3.13 runtime's version, whatever runs the tests


@pytest.mark.parametrize("name", SOURCE_FUNCTIONS)
def test_built_function_imports_from_its_folder_and_layers(name: str, import_report: dict[str, Any]) -> None:
    assert name in import_report["functions"], f"{name} is in template.yaml but not in the build output"
    outcome = import_report["functions"][name]
    assert "error" not in outcome, outcome.get("error")
    assert outcome["callable"]
    assert outcome["pollgate"].startswith(str(BUILD.resolve())), outcome["pollgate"]
    # The layer's SDK, not the runtime's stand-in: boto3 and its botocore from the same build.
    assert outcome["boto3"].startswith(str(BUILD.resolve())), outcome["boto3"]
    assert outcome["botocore"].startswith(str(BUILD.resolve())), outcome["botocore"]


def test_every_built_module_ships_bytecode_that_is_used_without_its_source() -> None:
    # make build compiles the build (unchecked-hash: the archive keeps no mtimes a timestamp .pyc could match).
    unshipped, checked = [], []
    for source in sorted(BUILD.rglob("*.py")):
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if not cached.exists():
            unshipped.append(str(source.relative_to(BUILD)))
        elif int.from_bytes(cached.read_bytes()[4:8], "little") != 0b01:  # PEP 552: hash-based, unchecked
            checked.append(str(source.relative_to(BUILD)))
    assert unshipped == [] and checked == []


def test_a_cold_start_runs_the_shipped_bytecode_and_compiles_nothing(tmp_path: Path) -> None:
    template = _template(BUILD / "template.yaml")
    properties = _functions(template)["ThingSpaceDeviceActionWorkerFunction"]
    code = shutil.copytree(BUILD / properties["CodeUri"], tmp_path / "task")
    layers = [
        shutil.copytree(folder, tmp_path / f"opt{n}")
        for n, folder in enumerate(_layer_folders(BUILD, properties, template))
    ]
    for source in [*code.rglob("*.py"), *(s for layer in layers for s in layer.rglob("*.py"))]:
        source.write_text("raise SystemExit('compiled from source: its .pyc was not used')\n")
    path = [str(code), *map(str, layers)]
    answer = subprocess.run(  # noqa: S603 - our own interpreter
        [_python313(), "-I", "-S", "-B", "-c", f"import sys; sys.path[:0] = {path!r}; import app; print('loaded')"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "TABLE_NAME": "pollgate-build-check"},
    )
    assert answer.returncode == 0 and answer.stdout.strip() == "loaded", answer.stderr[-2000:]
