"""The local runtime's harness on moto: template.yaml provisioned, the real UAI workflow run through the invoke API."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pollgate_local.functions import FunctionError
from pollgate_local.stack import MOTO_CONFIG, ROOT, LocalStack

from tests.aws_fixtures import http_event
from tests.conftest import DeviceKey

REPORT = {
    "language": 1033,
    "packageId": "pkg-1",
    "platform": "WIN64",
    "statusCode": 2,
    "timeStamp": "2026-11-22T10:00:00Z",
    "updateId": "upd-1",
    "updateName": "Security update",
}
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # samtranslator's own, on every read
KEY_PATH = "/flexnet/operations/api/updates/update-authorization-key"


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with mock_aws(config=MOTO_CONFIG), LocalStack() as local:
        local.provision()
        local.start_invoke_server()
        yield local


def admin(stack: LocalStack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.provisioned.secret_values['AdminSecret']}"}


def upload_key(stack: LocalStack, key: DeviceKey) -> Any:
    return stack.invoke(
        "UaiUploadKeyFunction", http_event("PUT", KEY_PATH, body={"publicKey": key.public_b64}, headers=admin(stack))
    )


def test_provisions_every_resource_of_the_template_in_moto(stack: LocalStack) -> None:
    local = stack.provisioned
    table = boto3.client("dynamodb").describe_table(TableName=local.tables["Table"])["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["due"]
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=local.tables["Table"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiresAt"
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=local.secrets["AdminSecret"])
    assert secret["SecretString"] == local.secret_values["AdminSecret"]
    assert len(secret["SecretString"]) == 48 and secret["SecretString"].isalnum()
    machine = boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=local.state_machines["UaiStatusLogStateMachine"]
    )
    definition = json.loads(machine["definition"])
    assert definition["States"]["RecordStatusLog"]["Parameters"]["FunctionName"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:UaiStatusLogWorkerFunction"
    )
    assert definition["States"]["MarkFailed"]["Parameters"]["TableName"] == local.tables["Table"]


def test_functions_get_the_template_environment_resolved_to_local_resources(stack: LocalStack) -> None:
    local = stack.provisioned
    upload = local.environment["UaiUploadKeyFunction"]
    assert upload["TABLE_NAME"] == local.tables["Table"]  # Globals
    assert upload["ADMIN_SECRET_ARN"] == local.secrets["AdminSecret"]  # its own, a !Ref to a secret
    assert upload["STAGE"] == "local"
    assert (
        local.environment["UaiSubmitStatusLogFunction"]["UAI_STATUS_LOG_STATE_MACHINE_ARN"]
        == (local.state_machines["UaiStatusLogStateMachine"])
    )
    assert "ADMIN_SECRET_ARN" not in local.environment["UaiSubmitStatusLogFunction"]


def test_a_status_report_runs_the_real_state_machine_to_completion(stack: LocalStack, device_key: DeviceKey) -> None:
    assert upload_key(stack, device_key)["statusCode"] == 200
    submitted = stack.invoke(
        "UaiSubmitStatusLogFunction",
        http_event(
            "POST", "/uai/2.0/updates/statusLog", body=REPORT, headers={"authorization": f"Bearer {device_key.token()}"}
        ),
    )
    assert submitted["statusCode"] == 202
    url = json.loads(submitted["body"])["url"]

    machine = stack.provisioned.state_machines["UaiStatusLogStateMachine"]
    [execution] = stack.executions(machine)
    finished = stack.wait_for_execution(execution["executionArn"], timeout=10)
    assert finished["status"] == "SUCCEEDED"

    polling_id = url.rsplit("/", 1)[1]
    polled = stack.invoke(
        "UaiPollStatusLogFunction",
        http_event(
            "GET", url, route="/uai/2.0/updates/statusLog/{pollingId}", path_parameters={"pollingId": polling_id}
        ),
    )
    assert polled["statusCode"] == 200
    assert json.loads(polled["body"])["key"] == "statusLog.logged"


def test_invoke_endpoint_answers_a_handler_error_like_lambda(stack: LocalStack) -> None:
    endpoint = stack.start_invoke_server()
    request = urllib.request.Request(  # noqa: S310 - the loopback URL the harness just started
        f"{endpoint}/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:UaiStatusLogWorkerFunction"
        "/invocations",
        data=b'{"pollingId": "missing"}',
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200
        assert answer.headers["X-Amz-Function-Error"] == "Unhandled"
        payload = json.loads(answer.read())
    assert payload["errorType"] == "LookupError"
    assert "missing" in payload["errorMessage"]


def test_invoke_endpoint_is_what_boto3_lambda_clients_reach(stack: LocalStack) -> None:
    answer = boto3.client("lambda").invoke(FunctionName="OperationSweeperFunction", Payload=b"{}")
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"restarted": 0, "failed": 0}
    with pytest.raises(boto3.client("lambda").exceptions.ResourceNotFoundException):
        boto3.client("lambda").invoke(FunctionName="NoSuchFunction", Payload=b"{}")


def test_in_process_invoke_raises_the_handler_error(stack: LocalStack) -> None:
    with pytest.raises(FunctionError) as raised:
        stack.invoke("UaiStatusLogWorkerFunction", {"pollingId": "missing"})
    assert raised.value.error_type == "LookupError"


def test_stop_restores_the_environment() -> None:
    before = os.environ.get("TABLE_NAME")
    with mock_aws(config=MOTO_CONFIG), LocalStack() as local:
        local.provision()
        assert os.environ["TABLE_NAME"] == local.provisioned.tables["Table"]
    assert os.environ.get("TABLE_NAME") == before


@pytest.fixture
def restored_environment() -> Iterator[None]:
    """`pollgate local invoke` is a process of its own and sets the runtime's variables for good; not here."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.usefixtures("restored_environment")
def test_local_invoke_prints_the_answer_and_fails_on_a_handler_error(capsys: pytest.CaptureFixture[str]) -> None:
    from pollgate_local.cli import main

    event = ROOT / "events" / "uai_status_log_worker.json"
    with pytest.raises(SystemExit) as ended:
        main(["local", "invoke", "OperationSweeperFunction"])
    assert ended.value.code == 0
    assert json.loads(capsys.readouterr().out) == {"restarted": 0, "failed": 0}
    with pytest.raises(SystemExit) as ended:
        main(["local", "invoke", "UaiStatusLogWorkerFunction", "--event", str(event)])
    assert ended.value.code == 1
    assert json.loads(capsys.readouterr().out)["errorType"] == "LookupError"
