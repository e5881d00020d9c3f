"""`pollgate run --services-only`: moto and the Lambda endpoint for `sam local start-api` on a machine with Docker."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from pollgate_local.process import RuntimeProcess

from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e


def test_services_only_serves_the_stack_to_outside_clients() -> None:
    with RuntimeProcess("--services-only") as runtime:
        endpoint = f"http://127.0.0.1:{runtime.aws_port}"
        assert runtime.wait_for("export AWS_ENDPOINT_URL=") == f"export AWS_ENDPOINT_URL={endpoint}"
        env_file = Path(runtime.wait_for("sam local start-api --env-vars").split("--env-vars ", 1)[1].rstrip("`"))
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        tables = session.client("dynamodb", endpoint_url=endpoint).list_tables()["TableNames"]
        environment = json.loads(env_file.read_text())
        assert environment["UaiSubmitStatusLogFunction"]["TABLE_NAME"] in tables
        assert environment["UaiSubmitStatusLogFunction"]["AWS_ENDPOINT_URL"] == endpoint

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
    with urllib.request.urlopen(record_url, timeout=10) as answer:  # noqa: S310 - the runtime on loopback
        found = [e for e in json.loads(answer.read()) if e["executionArn"] == execution_arn]
    return found[0] if found and found[0]["status"] != "RUNNING" else None
