"""Fault injection on the status-log face: throttling, unavailability, failed starts and crashing workers.

The invariant is checked, not assumed: every accepted report ends Succeeded or Failed (none left Pending),
nothing accepted is lost, every refusal is a retriable 503 in the face's shape, every failure is in the logs.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from pollgate.operations import OperationStore, sweep_stuck_operations
from pollgate.store import Table
from pollgate.uai.keys import KeyStore
from pollgate_local.stack import LocalStack

from tests.aws_fixtures import http_event
from tests.conftest import DeviceKey
from tests.fault_injection import THROTTLED, UNAVAILABLE, failing
from tests.helpers.uai import REPORT, STATUS_LOG, body, poll, polling_id
from tests.helpers.waiting import eventually
from tests.integration.conftest import Function

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("workflows")]


def submit(uai: dict[str, Function], key: DeviceKey, report: Any = REPORT) -> dict[str, Any]:
    return uai["submit_status_log"].http(
        "POST", STATUS_LOG, body=report, headers={"Authorization": f"Bearer {key.token()}"}
    )


@pytest.mark.parametrize("code", [THROTTLED, UNAVAILABLE, "unreachable"])
def test_submit_when_dynamodb_fails_is_a_retriable_503_and_stores_nothing(
    uai: dict[str, Function], device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    submit(uai, device_key)  # warm: keys cached, so only the operation's PutItem meets the fault
    before = len(list(Table().due("OP", "9999")))
    with failing(monkeypatch, "dynamodb", put_item=(code, None)) as faulty:
        answer = submit(uai, device_key)
    assert faulty.failures == ["put_item"]
    assert answer["statusCode"] == 503
    assert int(answer["headers"]["Retry-After"]) >= 1
    assert set(body(answer)) == {"arguments", "key", "message"}
    assert len(list(Table().due("OP", "9999"))) == before


def test_poll_when_dynamodb_is_throttled_is_503_then_recovers(
    uai: dict[str, Function], device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = polling_id(submit(uai, device_key))
    with failing(monkeypatch, "dynamodb", get_item=(THROTTLED, 1)):
        assert poll(uai, pid)["statusCode"] == 503
        assert poll(uai, pid)["statusCode"] == 202


def test_a_throttled_start_is_accepted_and_logged(
    uai: dict[str, Function], device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with failing(monkeypatch, "stepfunctions", start_execution=("ThrottlingException", None)):
        answer = submit(uai, device_key)
    assert answer["statusCode"] == 202  # accepted: the sweeper owns it now
    operation = OperationStore().get(polling_id(answer))
    assert operation is not None and operation.status == "Pending"
    assert "workflow did not start" in caplog.text


def test_no_accepted_report_is_left_pending_or_lost_under_mixed_faults(
    uai_stack: LocalStack, device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = itertools.count()
    real_get = KeyStore.get

    def sometimes_crashing(self: KeyStore, key_id: str) -> Any:  # the worker's first read of the report's key
        if next(calls) % 4 == 0:
            raise RuntimeError("worker crashed")
        return real_get(self, key_id)

    monkeypatch.setattr(KeyStore, "get", sometimes_crashing)

    accepted = []
    with failing(monkeypatch, "stepfunctions", start_execution=("ThrottlingException", 6)):
        for n in range(18):
            answer = uai_stack.invoke(
                "UaiSubmitStatusLogFunction",
                http_event(
                    "POST",
                    STATUS_LOG,
                    body={**REPORT, "statusReason": f"report {n}"},
                    headers={"authorization": f"Bearer {device_key.token()}"},
                ),
            )
            assert answer["statusCode"] == 202
            accepted.append(json.loads(answer["body"])["url"].rsplit("/", 1)[1])

    store = OperationStore()

    def swept_until_all_finished() -> bool:
        sweep_stuck_operations()
        return all(store.get(pid, consistent=True).finished for pid in accepted)  # type: ignore[union-attr]

    eventually(swept_until_all_finished, timeout=60, what="every operation finished")
    outcomes = {pid: store.get(pid, consistent=True) for pid in accepted}
    assert all(op is not None and op.finished for op in outcomes.values()), "an operation was left Pending"
    failed = [op for op in outcomes.values() if op and op.status == "Failed"]
    succeeded = [op for op in outcomes.values() if op and op.status == "Succeeded"]
    assert len(failed) + len(succeeded) == len(accepted)
    assert failed, "the crashing worker must show up as Failed operations"
    assert all(op.reason for op in failed)
    assert all(op.result and op.result["key"] == "statusLog.failed" for op in failed)
    logged = Table().query("UAI#DEVICE#ETHERNET#00:11:22:33:44:55", "STATUS#", consistent=True)
    assert sorted(entry["pollingId"] for entry in logged) == sorted(op.id for op in succeeded)
    assert caplog.text.count("workflow did not start") == 6
