"""`pollgate run --services-only`: moto and the Lambda endpoint for `sam local start-api` on a machine with Docker."""

from __future__ import annotations

import json
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

        def finished() -> Any:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            return None if described["status"] == "RUNNING" else described

        assert eventually(finished, 10, what="the execution to end")["status"] == "SUCCEEDED"
        history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
        failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
        assert failures and failures[0]["error"] == "LookupError"  # the real worker ran, and raised
        assert runtime.terminate() == 0
