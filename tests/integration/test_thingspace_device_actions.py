"""ThingSpace device actions on the local harness: the real handlers and the real state machine on moto.

Each request runs its Express workflow through the Lambda Invoke endpoint: a single-device request in one task
(ApplySingleDevice), any other Plan -> Map over devices -> Finish.
"""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import Mock

import pytest
from botocore.exceptions import ClientError
from pollgate.operations import OperationStore, sweep_stuck_operations
from pollgate.thingspace import inventory, tasks
from pollgate.thingspace.device_results import DeviceResultStore
from pollgate.thingspace.tasks import apply_device, apply_single_device, finish

from tests.aws_fixtures import http_event
from tests.fault_injection import THROTTLED
from tests.helpers.thingspace import ACCOUNT, ACTIONS, OTHER, World

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("workflows")]


def test_activate_answers_a_request_id_at_once_then_the_device_is_active(world: World) -> None:
    imei = world.device(imei="990000862471854", iccid="89148000000800784259")
    answer = world.submit("activate", {"imei": "990000862471854"})
    assert answer["statusCode"] == 200
    request_id = json.loads(answer["body"])["requestId"]
    assert world.status(request_id)[1]["status"] in {"Pending", "Success"}
    machine = world.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
    world.stack.wait_for_execution(machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1")
    assert world.status(request_id) == (200, {"requestId": request_id, "status": "Success"})
    assert world.state_of(**imei) == ("active", 1)
    assert world.state_of(iccid="89148000000800784259") == ("active", 1)  # found by any of its ids


def test_the_whole_life_of_a_device_and_its_illegal_moves(world: World) -> None:
    ids = world.device(mdn="5551230001")
    steps = [
        ("suspend", "Failed", "REQUEST_FAILED.DeviceNotActive"),
        ("activate", "Success", None),
        ("activate", "Failed", "REQUEST_FAILED.DeviceAlreadyActive"),
        ("restore", "Failed", "REQUEST_FAILED.DeviceAlreadyActive"),
        ("suspend", "Success", None),
        ("suspend", "Failed", "REQUEST_FAILED.DeviceAlreadySuspended"),
        ("activate", "Failed", "REQUEST_FAILED.DeviceSuspended"),
        ("restore", "Success", None),
        ("deactivate", "Success", None),
        ("deactivate", "Failed", "REQUEST_FAILED.DeviceNotActive"),
        ("restore", "Failed", "REQUEST_FAILED.DeviceNotSuspended"),
        ("activate", "Success", None),
    ]
    for action, status, code in steps:
        request_id = world.run(action, ids)
        assert (action, world.status(request_id)[1]["status"], world.fault(request_id)) == (action, status, code)
    assert world.state_of(**ids) == ("active", 5)  # one transition per success


def test_an_unknown_device_fails_with_device_not_found(world: World) -> None:
    world.device(imei="111")
    request_id = world.run("activate", {"imei": "222"})
    assert world.status(request_id)[1]["status"] == "Failed"
    assert world.fault(request_id) == "REQUEST_FAILED.DeviceNotFound"
    mixed = world.device(imei="333")
    world.device(iccid="444")
    request_id = world.run("activate", {**mixed, "iccid": "444"})  # two ids naming two devices
    assert world.fault(request_id) == "REQUEST_FAILED.DeviceNotFound"


def test_a_multi_device_request_is_processed_per_device_and_has_no_status(world: World) -> None:
    first, second = world.device(imei="1001"), world.device(imei="1002", state="active")
    request_id = world.run("activate", first, second, {"imei": "missing"})
    code, answer = world.status(request_id)
    assert code == 400 and answer["errorCode"] == "REQUEST_FAILED.MultipleDevicesRequest"
    assert [world.fault(request_id, i) for i in range(3)] == [
        None,
        "REQUEST_FAILED.DeviceAlreadyActive",
        "REQUEST_FAILED.DeviceNotFound",
    ]
    assert world.state_of(**first) == ("active", 1)
    operation = OperationStore().get(request_id)
    assert operation is not None and operation.status == "Failed"
    assert [d["status"] for d in (operation.result or {})["devices"]] == ["Success", "Failed", "Failed"]


def _worker_tasks(world: World, request_id: str) -> list[str]:
    """The worker tasks the request's execution ran, in order, from the runtime's record of its history."""
    machine = world.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
    execution = machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1"
    (record,) = [e for e in world.stack.executions(machine, history=True) if e["executionArn"] == execution]
    scheduled = [event["taskScheduledEventDetails"] for event in record["events"] if event["type"] == "TaskScheduled"]
    return [json.loads(task["parameters"])["Payload"]["task"] for task in scheduled if task["resourceType"] == "lambda"]


def test_a_single_device_request_is_one_worker_task_and_a_multi_device_request_one_per_step(world: World) -> None:
    single = world.run("activate", world.device(imei="1101"))
    assert _worker_tasks(world, single) == ["single"]
    assert world.status(single)[1]["status"] == "Success"
    several = world.run("activate", world.device(imei="1102"), world.device(imei="1103"))
    assert _worker_tasks(world, several) == ["plan", "apply", "apply", "finish"]
    assert world.state_of(imei="1102") == world.state_of(imei="1103") == ("active", 1)


def test_a_backend_that_could_not_answer_is_retried_and_the_device_moves_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = world.device(imei="1201")
    real_apply = inventory.TableBackend.apply
    refusals = iter([inventory.BackendUnavailable("carrier system restarting")])

    def unavailable_once(self: inventory.TableBackend, transition: inventory.DeviceTransition) -> Any:
        refusal = next(refusals, None)
        if refusal is not None:
            raise refusal
        return real_apply(self, transition)

    monkeypatch.setattr(inventory.TableBackend, "apply", unavailable_once)
    request_id = world.run("activate", ids)
    assert world.status(request_id)[1]["status"] == "Success"
    assert world.state_of(**ids) == ("active", 1)
    assert _worker_tasks(world, request_id) == ["single", "single"]


def test_status_of_another_accounts_request_is_not_found(world: World) -> None:
    request_id = world.run("activate", world.device(imei="5001"))
    bob = world.headers_for("bob", "bob-password")
    code, answer = world.status(request_id, account=OTHER, headers=bob)
    assert (code, answer["errorCode"]) == (400, "REQUEST_FAILED.RequestNotFound")
    code, answer = world.status(request_id, headers=bob)  # bob cannot even name alice's account
    assert (code, answer["errorCode"]) == (400, "REQUEST_FAILED.AccountNotFound")
    code, answer = world.status("86c83330-4bf5-4235-9c4e-a83f93aeae4c")
    assert (code, answer["errorCode"]) == (400, "REQUEST_FAILED.RequestNotFound")


def test_a_request_for_an_account_the_user_lacks_is_refused_before_anything_is_stored(world: World) -> None:
    answer = world.submit("activate", {"imei": "1"}, account=OTHER)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["errorCode"] == "REQUEST_FAILED.AccountNotFound"
    machine = world.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
    assert world.stack.executions(machine) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"accountName": ACCOUNT, "devices": []}, "INPUT_INVALID.Devices.Invalid"),
        ({"devices": [{"deviceIds": [{"kind": "imei", "id": "1"}]}]}, "INPUT_INVALID.AccountName.Invalid"),
        (
            {"accountName": ACCOUNT, "devices": [{"deviceIds": [{"kind": "serial", "id": "1"}]}]},
            "INPUT_INVALID.Devices.Invalid",
        ),
        ([1, 2], "INPUT_INVALID.Body.Invalid"),
    ],
)
def test_invalid_bodies_answer_input_invalid(world: World, body: Any, code: str) -> None:
    answer = world.stack.invoke(
        "ThingSpaceDeviceActionFunction", http_event("POST", f"{ACTIONS}/activate", body=body, headers=world.headers)
    )
    assert (answer["statusCode"], json.loads(answer["body"])["errorCode"]) == (400, code)


def test_a_device_step_that_crashes_fails_that_device_with_unexpected_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = world.device(imei="7001")

    def broken(self: object, transition: object) -> object:
        raise RuntimeError("carrier system bug")

    monkeypatch.setattr(inventory.TableBackend, "apply", broken)
    request_id = world.run("activate", ids)
    assert world.status(request_id)[1]["status"] == "Failed"
    assert world.fault(request_id) == "REQUEST_FAILED.UnexpectedError"
    assert world.state_of(**ids) == ("pre-active", 0)


def test_retried_steps_never_provision_a_device_twice(world: World) -> None:
    ids = world.device(imei="8001")
    request_id = world.run("activate", ids)
    assert apply_device(request_id, 0) == "Success"  # a Step Functions retry of the same step
    assert finish(request_id) == "Success"  # and of Finish
    assert apply_single_device(request_id) == "Success"  # and of a single-device request's one task
    operation = OperationStore().get(request_id)
    assert operation is not None
    backend = inventory.TableBackend()
    again = backend.apply(tasks.transition_for(operation, 0))  # even straight at the backend
    assert again.succeeded
    assert world.state_of(**ids) == ("active", 1)


def test_the_sweeper_re_drives_a_request_whose_workflow_never_started(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        world.stack.provisioned.environment["OperationSweeperFunction"]["THINGSPACE_DEVICE_ACTION_STATE_MACHINE_ARN"]
        == world.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
    )
    ids = world.device(imei="9001")
    real_arn = world.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
    monkeypatch.setenv("THINGSPACE_DEVICE_ACTION_STATE_MACHINE_ARN", real_arn + "-missing")
    from pollgate.settings import reset_settings

    reset_settings()
    answer = world.submit("activate", ids)
    request_id = json.loads(answer["body"])["requestId"]
    assert answer["statusCode"] == 200 and world.status(request_id)[1]["status"] == "Pending"
    monkeypatch.setenv("THINGSPACE_DEVICE_ACTION_STATE_MACHINE_ARN", real_arn)
    reset_settings()
    assert sweep_stuck_operations().restarted == 1
    execution = real_arn.replace(":stateMachine:", ":execution:") + f":{request_id}-2"
    assert world.stack.wait_for_execution(execution, timeout=20)["status"] == "SUCCEEDED"
    assert world.status(request_id)[1]["status"] == "Success"


def test_an_idempotency_key_answers_the_first_request_id_and_provisions_once(world: World) -> None:
    ids = world.device(imei="6001")
    keyed = {**world.headers, "idempotency-key": "activate-6001"}
    first = world.submit("activate", ids, headers=keyed)
    again = world.submit("activate", ids, headers=keyed)
    assert first["statusCode"] == again["statusCode"] == 200
    request_id = json.loads(first["body"])["requestId"]
    assert json.loads(again["body"])["requestId"] == request_id
    reused = world.submit("suspend", ids, headers=keyed)
    assert (reused["statusCode"], json.loads(reused["body"])["errorCode"]) == (
        422,
        "INPUT_INVALID.IdempotencyKey.Reused",
    )
    machine = world.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
    world.stack.wait_for_execution(machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1")
    assert len(world.stack.executions(machine)) == 1
    assert world.state_of(**ids) == ("active", 1)


def test_a_request_that_fails_after_taking_its_key_is_503_and_its_retry_is_accepted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Storing the request is throttled once its Idempotency-Key is claimed: the claim must be released, or the
    # retry would be refused as "in progress".
    ids = world.device(imei="6002")
    keyed = {**world.headers, "idempotency-key": "activate-6002"}
    throttled = ClientError({"Error": {"Code": THROTTLED, "Message": "injected"}}, "PutItem")
    with monkeypatch.context() as patch:
        patch.setattr(OperationStore, "create", Mock(side_effect=throttled))
        failed = world.submit("activate", ids, headers=keyed)
    assert failed["statusCode"] == 503
    assert world.submit("activate", ids, headers=keyed)["statusCode"] == 200


def test_a_finish_that_fails_once_is_retried_and_the_moved_device_reports_success(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = world.device(imei="4040")
    original = DeviceResultStore.all
    failures = iter([RuntimeError("transient fault")])

    def flaky_all(self: DeviceResultStore, polling_id: str) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return original(self, polling_id)

    monkeypatch.setattr(DeviceResultStore, "all", flaky_all)
    request_id = world.run("activate", ids)
    assert world.status(request_id)[1]["status"] == "Success"  # not Failed: Finish was retried
    assert world.state_of(**ids) == ("active", 1)
