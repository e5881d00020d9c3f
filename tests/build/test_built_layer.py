"""The layer `sam build` made holds exactly what the lock names, at the lock's versions: a package the lock does
not name (a dependency someone added without `make lock`, a second botocore) fails here. The lock is
layers/core/requirements.txt, compiled by `make lock`; tests/unit/test_layer_lock.py checks it against
pyproject.toml."""

from __future__ import annotations

import re
from importlib.metadata import distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from samcli.yamlhelper import yaml_parse

from tests.helpers.build import BUILD, NEEDS_BUILD, ROOT

pytestmark = NEEDS_BUILD
LOCK = ROOT / "layers" / "core" / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def _locked() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(LOCK.read_text())}


def _layer_folders() -> list[Path]:
    resources = yaml_parse((BUILD / "template.yaml").read_text())["Resources"]
    return [
        BUILD / resource["Properties"]["ContentUri"] / "python"
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    ]


def _built_layers() -> dict[str, dict[str, str]]:
    """Each built layer's installed distributions, by name, with their versions."""
    return {
        str(folder): {
            canonicalize_name(dist.metadata["Name"]): dist.version for dist in distributions(path=[str(folder)])
        }
        for folder in _layer_folders()
    }


def test_the_built_layer_holds_exactly_the_locked_packages_at_their_versions() -> None:
    locked = _locked()
    [installed] = _built_layers().values()
    assert set(installed) - set(locked) == set(), "in the layer, not in the lock"
    assert set(locked) - set(installed) == set(), "in the lock, not in the layer"
    assert installed == locked


def test_the_layer_ships_boto3_with_a_botocore_it_accepts() -> None:
    [folder] = _layer_folders()
    installed = {str(canonicalize_name(dist.metadata["Name"])): dist for dist in distributions(path=[str(folder)])}
    assert {"boto3", "botocore", "s3transfer"} <= set(installed)
    wanted = [Requirement(line) for line in installed["boto3"].requires or [] if line.startswith("botocore")]
    botocore = installed["botocore"].version
    assert wanted and all(requirement.specifier.contains(botocore) for requirement in wanted), (botocore, wanted)
