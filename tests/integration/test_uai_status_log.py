"""The status-log face through its real handlers on moto: submit, poll, the worker, and every error answer."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from pollgate import clock
from pollgate.operations import OperationStore, sweep_stuck_operations
from pollgate.settings import get_settings
from pollgate.store import Table
from pollgate.uai.history import device_history, record_status_log
from pollgate.uai.models import StatusLogRequest
from pollgate.uai.workflow import WORKFLOW

from tests.conftest import DeviceKey
from tests.helpers.uai import REPORT, STATUS_LOG, body, poll, polling_id, submit
from tests.integration.conftest import Function

pytestmark = pytest.mark.usefixtures("workflows")


def test_submit_answers_202_with_url_location_and_retry_after(uai: dict[str, Function], device_key: DeviceKey) -> None:
    answer = submit(uai, device_key.token())
    assert answer["statusCode"] == 202
    url = body(answer)["url"]
    assert url.startswith(f"{STATUS_LOG}/")
    assert answer["headers"]["Location"] == url
    assert int(answer["headers"]["Retry-After"]) >= 1
    operation = OperationStore().get(polling_id(answer))
    assert operation is not None and operation.status == "Pending"


def test_poll_is_202_while_pending_then_200_with_the_outcome(uai: dict[str, Function], device_key: DeviceKey) -> None:
    pid = polling_id(submit(uai, device_key.token()))
    pending = poll(uai, pid)
    assert pending["statusCode"] == 202
    assert body(pending) == {"url": f"{STATUS_LOG}/{pid}"}
    assert pending["headers"]["Retry-After"]

    assert uai["status_log_worker"]({"pollingId": pid}) == {"pollingId": pid, "status": "Succeeded"}

    done = poll(uai, pid)
    assert done["statusCode"] == 200
    assert body(done) == {
        "arguments": "4, upd-1, ETHERNET:00:11:22:33:44:55",
        "key": "statusLog.logged",
        "message": "Status 4 of update upd-1 was logged for device ETHERNET:00:11:22:33:44:55.",
    }
    by_query = uai["poll_status_log"].http("GET", STATUS_LOG, query={"pollingId": pid})
    assert by_query["statusCode"] == 200 and body(by_query) == body(done)


def test_the_report_lands_in_the_device_history_once(uai: dict[str, Function], device_key: DeviceKey) -> None:
    first = polling_id(submit(uai, device_key.token()))
    again = polling_id(submit(uai, device_key.token()))
    record_status_log(first)
    record_status_log(again)
    record_status_log(again)  # a Step Functions retry of the same task changes nothing
    history = device_history(StatusLogRequest.model_validate(REPORT).model_dump(mode="json"))
    assert len(history) == 1
    assert history[0]["pollingId"] == first and history[0]["statusCode"] == 4
    assert body(poll(uai, again))["key"] == "statusLog.duplicate"
    assert body(poll(uai, first))["key"] == "statusLog.logged"


def test_anonymous_reports_are_logged(uai: dict[str, Function], device_key: DeviceKey) -> None:
    anonymous = {**REPORT, "id": "", "idType": "", "publisherName": ""}
    pid = polling_id(submit(uai, device_key.token(), anonymous))
    record_status_log(pid)
    assert body(poll(uai, pid))["arguments"].endswith("anonymous")


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ({**REPORT, "statusReason": "x" * 101}, "statusReason"),
        ({**REPORT, "statusCode": "4"}, "statusCode"),
        ({k: v for k, v in REPORT.items() if k != "updateId"}, "updateId"),
        ({**REPORT, "idType": "MAC"}, "idType"),
    ],
)
def test_bad_field_is_400_naming_the_field(
    uai: dict[str, Function], device_key: DeviceKey, report: dict[str, Any], field: str
) -> None:
    answer = submit(uai, device_key.token(), report)
    assert answer["statusCode"] == 400
    assert body(answer)["key"] == "request.fieldInvalid"
    assert body(answer)["arguments"].startswith(field)
    assert field in body(answer)["message"]


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', ""])
def test_body_that_is_not_a_json_object_is_400(uai: dict[str, Function], device_key: DeviceKey, raw: str) -> None:
    answer = submit(uai, device_key.token(), raw)
    assert answer["statusCode"] == 400
    assert body(answer)["key"] in {"request.bodyInvalid", "request.fieldInvalid"}
    assert set(body(answer)) == {"arguments", "key", "message"}


def test_submit_without_token_is_401_and_stores_nothing(uai: dict[str, Function]) -> None:
    answer = submit(uai, None)
    assert answer["statusCode"] == 401
    assert body(answer)["key"] == "auth.tokenMissing"
    assert list(Table().due("OP", "9999")) == []


def test_submit_with_a_token_from_an_unknown_key_is_401(uai: dict[str, Function], second_device_key: DeviceKey) -> None:
    answer = submit(uai, second_device_key.token())
    assert (answer["statusCode"], body(answer)["key"]) == (401, "auth.signatureInvalid")


def test_no_key_uploaded_is_401_public_key_missing(aws: None, device_key: DeviceKey) -> None:
    answer = Function("uai_submit_status_log").http(
        "POST", STATUS_LOG, body=REPORT, headers={"Authorization": f"Bearer {device_key.token()}"}
    )
    assert (answer["statusCode"], body(answer)["key"]) == (401, "auth.publicKeyMissing")


def test_poll_needs_no_token_but_refuses_a_bad_one(uai: dict[str, Function], device_key: DeviceKey) -> None:
    pid = polling_id(submit(uai, device_key.token()))
    assert poll(uai, pid)["statusCode"] == 202
    assert poll(uai, pid, {"Authorization": f"Bearer {device_key.token()}"})["statusCode"] == 202
    bad = poll(uai, pid, {"Authorization": "Bearer not.a.token"})
    assert bad["statusCode"] == 401 and body(bad)["key"] == "auth.tokenMalformed"
    expired = poll(uai, pid, {"Authorization": f"Bearer {device_key.token(expires_in=-3600)}"})
    assert (expired["statusCode"], body(expired)["key"]) == (401, "auth.tokenExpired")


def test_unknown_polling_id_is_404_and_missing_id_is_400(uai: dict[str, Function]) -> None:
    for unknown in ("2f1d3c6e-0000-4000-8000-000000000000", "bad$id", "x" * 300):
        answer = poll(uai, unknown)
        assert answer["statusCode"] == 404, unknown
        assert body(answer)["key"] == "polling.notFound"
    missing = uai["poll_status_log"].http("GET", STATUS_LOG)
    assert (missing["statusCode"], body(missing)["key"]) == (400, "polling.idMissing")


def test_a_result_past_its_retention_is_410(uai: dict[str, Function], device_key: DeviceKey) -> None:
    pid = polling_id(submit(uai, device_key.token()))
    record_status_log(pid)
    retention = get_settings().result_retention_seconds
    with clock.frozen(time.time()) as advance:
        advance(retention - 60)
        assert poll(uai, pid)["statusCode"] == 200
        advance(120)
        gone = poll(uai, pid)
    assert (gone["statusCode"], body(gone)["key"]) == (410, "polling.expired")


def test_failed_start_is_redriven_by_the_sweeper_and_never_left_pending(
    uai: dict[str, Function], device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = polling_id(submit(uai, device_key.token()))  # the state machine does not exist: StartExecution fails
    assert OperationStore().get(pid).status == "Pending"  # type: ignore[union-attr]
    # It is due at once, so the next sweep re-drives it - against a state machine that exists now.
    arn = boto3.client("stepfunctions").create_state_machine(
        name="noop",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("UAI_STATUS_LOG_STATE_MACHINE_ARN", arn)
    from pollgate.settings import reset_settings

    reset_settings()
    report = sweep_stuck_operations()
    assert report.restarted == 1
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == [f"{pid}-2"]


def test_an_operation_whose_workflow_never_finishes_ends_failed(
    uai: dict[str, Function], device_key: DeviceKey
) -> None:
    pid = polling_id(submit(uai, device_key.token()))
    settings = get_settings()
    with clock.frozen(time.time()) as advance:
        for _ in range(settings.max_start_attempts):
            advance(WORKFLOW.due_after_seconds(settings) + 1)
            sweep_stuck_operations()
        answer = poll(uai, pid)
    assert answer["statusCode"] == 200
    assert body(answer)["key"] == "statusLog.failed"
    assert "did not finish" in body(answer)["message"]
    assert OperationStore().get(pid).status == "Failed"  # type: ignore[union-attr]
    assert list(Table().due("OP", "9999")) == []


def test_the_first_outcome_stands(uai: dict[str, Function], device_key: DeviceKey) -> None:
    pid = polling_id(submit(uai, device_key.token()))
    store = OperationStore()
    assert store.finish(pid, "Failed", {"key": "statusLog.failed"}, "test")
    assert not store.finish(pid, "Succeeded", {"key": "statusLog.logged"})
    assert record_status_log(pid) == "Failed"
    assert store.get(pid).status == "Failed"  # type: ignore[union-attr]


def test_finishing_answers_the_operation_as_it_finished_and_nothing_once_it_had(
    uai: dict[str, Function], device_key: DeviceKey
) -> None:
    pid = polling_id(submit(uai, device_key.token()))
    store = OperationStore()
    finished = store.finish_as(pid, "Failed", {"key": "statusLog.failed"}, "test")
    assert finished is not None
    assert (finished.id, finished.status, finished.result, finished.reason) == (
        pid,
        "Failed",
        {"key": "statusLog.failed"},
        "test",
    )
    assert finished == store.get(pid, consistent=True)
    assert store.finish_as(pid, "Succeeded", {"key": "statusLog.logged"}) is None


def test_a_task_finds_its_operation_only_when_it_exists_and_is_of_its_kind(
    uai: dict[str, Function], device_key: DeviceKey
) -> None:
    pid = polling_id(submit(uai, device_key.token()))
    store = OperationStore()
    assert store.for_task(pid).id == store.for_task(pid, "uai.statusLog").id == pid
    with pytest.raises(LookupError):
        store.for_task(pid, "thingspace.deviceAction")
    with pytest.raises(LookupError):
        store.for_task("00000000-0000-0000-0000-000000000000")
