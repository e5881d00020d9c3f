"""`pollgate run --services-only`: moto and the Lambda endpoint for `sam local` on a machine with Docker.

Where this machine has Docker's bridge (docker0) they listen on its address, which containers reach; elsewhere
(CI) on loopback. Either way the env file must hold only variables the template declares: SAM CLI drops others."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from pollgate_local.process import RuntimeProcess
from pollgate_local.servers import bridge_address
from samcli.yamlhelper import yaml_parse

from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_services_only_serves_the_stack_to_outside_clients() -> None:
    bridge = bridge_address()
    with RuntimeProcess("--services-only") as runtime:
        host = bridge or "127.0.0.1"
        endpoint = f"http://{host}:{runtime.aws_port}"
        assert runtime.wait_for("export AWS_ENDPOINT_URL=") == f"export AWS_ENDPOINT_URL={endpoint}"
        assert runtime.wait_for("export AWS_ACCESS_KEY_ID=") == "export AWS_ACCESS_KEY_ID=testing"
        env_file = Path(runtime.wait_for("sam local start-api ").split("--env-vars ", 1)[1])
        env_file = env_file if env_file.is_absolute() else ROOT / env_file
        ready = runtime.wait_for("pollgate ready")
        assert f"Lambda endpoint http://{host}:{runtime.lambda_port}" in ready
        assert not any("--docker-network" in line for line in runtime.output())

        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        tables = session.client("dynamodb", endpoint_url=endpoint).list_tables()["TableNames"]
        environment = json.loads(env_file.read_text())
        assert environment["UaiSubmitStatusLogFunction"]["TABLE_NAME"] in tables
        # Containers reach the services on the bridge; without one, Docker Desktop's name for the host's loopback.
        for_containers = endpoint if bridge else f"http://host.docker.internal:{runtime.aws_port}"
        assert {variables["AWS_ENDPOINT_URL"] for variables in environment.values()} == {for_containers}
        declared = _declared_variables(ROOT / "template.yaml")
        assert {fn: set(variables) - declared[fn] for fn, variables in environment.items()} == {
            fn: set() for fn in environment
        }
        # The Lambda endpoint answers there too (state machines' Lambda tasks come to it).
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://{host}:{runtime.lambda_port}/2015-03-31/functions/NoSuchFunction/invocations",
                    data=b"{}",
                    method="POST",
                ),
                timeout=10,
            )
        assert unknown.value.code == 404

        # An execution started from outside still runs its Lambda tasks in the runtime's process.
        sfn = session.client("stepfunctions", endpoint_url=endpoint)
        machine = environment["UaiSubmitStatusLogFunction"]["UAI_STATUS_LOG_STATE_MACHINE_ARN"]
        execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"pollingId": "unknown"}))
        # Express workflows have no DescribeExecution on AWS, nor here: the runtime's own record says how it ended.
        record = f"{endpoint}/_pollgate/executions?history=1&stateMachineArn={machine}"
        finished = eventually(lambda: _finished(record, execution["executionArn"]), timeout=20)
        assert finished is not None and finished["status"] == "SUCCEEDED"
        with pytest.raises(sfn.exceptions.InvalidArn):
            sfn.describe_execution(executionArn=execution["executionArn"])
        history = finished["events"]
        failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
        assert failures and failures[0]["error"] == "LookupError"  # the real worker ran, and raised
        assert runtime.terminate() == 0


def _finished(record_url: str, execution_arn: str) -> dict[str, Any] | None:
    with urllib.request.urlopen(record_url, timeout=10) as answer:  # noqa: S310 - the runtime on this machine
        found = [e for e in json.loads(answer.read()) if e["executionArn"] == execution_arn]
    return found[0] if found and found[0]["status"] != "RUNNING" else None


def _declared_variables(template: Path) -> dict[str, set[str]]:
    """Each function's environment variables as the template declares them (Globals included): what SAM CLI's
    `--env-vars` may set."""
    document = yaml_parse(template.read_text())
    shared = set(document["Globals"]["Function"].get("Environment", {}).get("Variables", {}))
    return {
        name: shared | set(resource["Properties"].get("Environment", {}).get("Variables", {}))
        for name, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_the_bridge_address_is_an_interface_s_own_or_none() -> None:
    # What --services-only listens on when docker0 has an address; CI has no docker0 and keeps loopback.
    assert bridge_address("lo") == "127.0.0.1"
    assert bridge_address("no-such-if0") is None
