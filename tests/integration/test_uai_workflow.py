"""The real status-log state machine (statemachines/uai_status_log.asl.json) on moto, through the local runtime's
Lambda Invoke endpoint: a worker that raises still ends the operation, and the first outcome always stands."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from pollgate.operations import OperationStore
from pollgate.uai.keys import KeyStore
from pollgate_local.stack import LocalStack

from tests.aws_fixtures import http_event
from tests.conftest import DeviceKey
from tests.fault_injection import ANSWER_LOST, failing
from tests.helpers.uai import REPORT, STATUS_LOG

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def submit_and_finish(stack: LocalStack, key: DeviceKey) -> tuple[str, dict[str, Any]]:
    answer = stack.invoke(
        "UaiSubmitStatusLogFunction",
        http_event("POST", STATUS_LOG, body=REPORT, headers={"authorization": f"Bearer {key.token()}"}),
    )
    assert answer["statusCode"] == 202
    polling_id = json.loads(answer["body"])["url"].rsplit("/", 1)[1]
    machine = stack.provisioned.state_machines["UaiStatusLogStateMachine"]
    executions = stack.executions(machine)
    [execution] = [e for e in executions if e["name"].startswith(polling_id)]
    return polling_id, stack.wait_for_execution(execution["executionArn"], timeout=15)


def poll(stack: LocalStack, polling_id: str) -> dict[str, Any]:
    answer = stack.invoke(
        "UaiPollStatusLogFunction",
        http_event(
            "GET",
            f"{STATUS_LOG}/{polling_id}",
            route=f"{STATUS_LOG}/{{pollingId}}",
            path_parameters={"pollingId": polling_id},
        ),
    )
    return {"status": answer["statusCode"], **json.loads(answer["body"])}


def test_a_worker_that_raises_ends_the_operation_failed_with_the_cause(
    uai_stack: LocalStack, device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(self: KeyStore, key_id: str) -> None:
        raise ConnectionError("DynamoDB unavailable")

    monkeypatch.setattr(KeyStore, "get", unavailable)
    polling_id, execution = submit_and_finish(uai_stack, device_key)
    assert execution["status"] == "SUCCEEDED"  # MarkFailed handled it: nothing for an operator to re-drive
    outcome = poll(uai_stack, polling_id)
    assert outcome == {
        "status": 200,
        "key": "statusLog.failed",
        "arguments": "ConnectionError",
        "message": "The status could not be logged: ConnectionError.",
    }
    operation = OperationStore().get(polling_id, consistent=True)
    assert operation is not None and operation.status == "Failed" and operation.reason == "ConnectionError"


def test_mark_failed_never_overwrites_a_finished_operation(
    uai_stack: LocalStack, device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker's transaction (history entry + outcome) is written, but its answer is lost: the worker fails.
    with failing(monkeypatch, "dynamodb", transact_write_items=(ANSWER_LOST, 1)) as faulty:
        polling_id, execution = submit_and_finish(uai_stack, device_key)
    assert faulty.failures == ["transact_write_items"]
    assert execution["status"] == "SUCCEEDED"
    outcome = poll(uai_stack, polling_id)
    assert (outcome["status"], outcome["key"]) == (200, "statusLog.logged")


def test_mark_failed_retries_a_throttled_write(
    uai_stack: LocalStack, device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB throttles the workflow's own MarkFailed write, twice: the state machine retries it (moto's Step
    Functions client makes one attempt per try, as the service reports the error to the workflow) and the
    operation still ends Failed rather than Pending until the sweeper."""
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.models import DynamoDBBackend

    def unavailable(self: KeyStore, key_id: str) -> None:
        raise ConnectionError("DynamoDB unavailable")

    original = DynamoDBBackend.update_item
    throttled: list[str] = []

    def throttle_mark_failed(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("update_expression", "").startswith("SET #status = :failed") and len(throttled) < 2:
            throttled.append(kwargs["update_expression"])
            raise DynamodbException(
                ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            )
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KeyStore, "get", unavailable)
    monkeypatch.setattr(DynamoDBBackend, "update_item", throttle_mark_failed)
    polling_id, execution = submit_and_finish(uai_stack, device_key)

    assert len(throttled) == 2
    assert execution["status"] == "SUCCEEDED"
    operation = OperationStore().get(polling_id, consistent=True)
    assert operation is not None and operation.status == "Failed" and operation.reason == "ConnectionError"


def test_an_execution_run_twice_changes_nothing(uai_stack: LocalStack, device_key: DeviceKey) -> None:
    """AWS runs an asynchronous Express execution at least once: the same input again must change nothing."""
    polling_id, first = submit_and_finish(uai_stack, device_key)
    before = poll(uai_stack, polling_id)
    stored = OperationStore().get(polling_id, consistent=True)
    machine = uai_stack.provisioned.state_machines["UaiStatusLogStateMachine"]
    again = boto3.client("stepfunctions").start_execution(stateMachineArn=machine, input=first["input"])
    second = uai_stack.wait_for_execution(again["executionArn"], timeout=15)
    assert second["status"] == "SUCCEEDED"
    assert poll(uai_stack, polling_id) == before == {**before, "status": 200, "key": "statusLog.logged"}
    assert OperationStore().get(polling_id, consistent=True) == stored
