"""First contact with `sam deploy`, as README tells a newcomer to run it: `sam deploy --guided` with Enter on every
prompt gets through every question to the first AWS call, and a plain `sam deploy` then asks nothing. The
HttpApis' `Auth` block that keeps guided from asking about authentication changes nothing deployed.

The real SAM CLI runs on a copy of the template and samconfig.toml, with no AWS credentials anywhere (no
profile, no credentials file, no instance metadata): botocore cannot sign, so it sends nothing, and the run
ends at SAM's first AWS call with "Unable to locate credentials". Standard input is a fixed number of newlines,
so a prompt that wanted a real answer ends the run (click aborts at end of input) instead of hanging, and the
subprocess has a deadline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from samcli.lib.config.samconfig import SamConfig
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).parent / "sam"
NO_CREDENTIALS = "Unable to locate credentials"
# Printed by SAM CLI once every guided question is answered, just before it looks for its managed bucket.
PROMPTS_DONE = "Looking for resources needed for deployment:"


def _sam_deploy(project: Path, *arguments: str, answers: str) -> str:
    home = project / "home"
    home.mkdir(exist_ok=True)
    environment = {
        "PATH": os.defpath,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    answer = subprocess.run(  # noqa: S603 - the venv's own SAM CLI
        [str(SAM), "deploy", *arguments],
        cwd=project,
        input=answers,
        capture_output=True,
        text=True,
        env=environment,
        timeout=180,
        check=False,
    )
    return answer.stdout + answer.stderr


def _project(folder: Path) -> Path:
    for name in ("template.yaml", "samconfig.toml"):
        shutil.copy(ROOT / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def guided_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _sam_deploy(_project(tmp_path_factory.mktemp("guided")), "--guided", answers="\n" * 100)


def test_guided_deploy_with_every_default_answer_reaches_aws(guided_output: str) -> None:
    output = guided_output
    assert "Security Constraints Not Satisfied" not in output, output
    assert "has no authentication" not in output, output
    assert "Aborted" not in output, output
    # The defaults a newcomer accepts are the stack's: samconfig.toml's and the template's.
    assert "Stack Name [pollgate]:" in output, output
    assert "AWS Region [us-east-1]:" in output, output
    assert "Parameter Stage [prod]:" in output, output
    assert "Allow SAM CLI IAM role creation [Y/n]:" in output, output
    assert "Confirm changes before deploy [y/N]:" in output, output
    assert output.index(PROMPTS_DONE) < output.index(NO_CREDENTIALS), output


def test_guided_deploy_asks_for_every_template_parameter_with_its_default(guided_output: str) -> None:
    parameters = yaml_parse((ROOT / "template.yaml").read_text())["Parameters"]
    asked = dict(re.findall(r"Parameter (\w+) \[([^\]]*)\]:", guided_output))
    assert asked == {name: str(spec.get("Default", "")) for name, spec in parameters.items()}


def test_plain_deploy_after_it_asks_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path)
    config = SamConfig(str(project))
    assert config.get_all(["deploy"], "parameters")["confirm_changeset"] is False  # no "Deploy this changeset?"

    output = _sam_deploy(project, answers="")  # no input at all: any prompt would abort

    assert output.strip().endswith(NO_CREDENTIALS), output


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _translated(template: dict[str, Any]) -> dict[str, Any]:
    """What CloudFormation's SAM transform makes of the template (local code locations stand in as S3 URIs)."""
    for resource in template["Resources"].values():
        for location in ("CodeUri", "ContentUri", "DefinitionUri"):
            if location in resource.get("Properties", {}):
                resource["Properties"][location] = "s3://bucket/key"
    return transform(template, {"AWS::Region": "us-east-1"}, _NoManagedPolicies())  # type: ignore[no-any-return]


def test_the_http_apis_auth_block_deploys_what_no_auth_block_deploys() -> None:
    template = yaml_parse((ROOT / "template.yaml").read_text())
    apis = [name for name, resource in template["Resources"].items() if resource["Type"] == "AWS::Serverless::HttpApi"]
    assert apis
    without_auth = yaml_parse((ROOT / "template.yaml").read_text())
    for name in apis:
        assert template["Resources"][name]["Properties"]["Auth"] == {"EnableIamAuthorizer": False}, name
        del without_auth["Resources"][name]["Properties"]["Auth"]

    assert _translated(template) == _translated(without_auth)
