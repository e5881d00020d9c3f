"""Each kind of operation waits out its own workflow's deadline: the sweeper re-drives an operation only once its
state machine (as the template deploys it) would have stopped the execution, so a slow ThingSpace request (280 s)
is never started twice while it still runs, and a stuck status report (60 s) is not left waiting for ThingSpace's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from pollgate import aws, clock
from pollgate.operations import OperationStore, Workflow, submit_operation, sweep_stuck_operations
from pollgate.settings import get_settings, reset_settings
from pollgate.thingspace.workflow import WORKFLOW as DEVICE_ACTION
from pollgate.uai.workflow import WORKFLOW as STATUS_LOG
from pollgate_local.stack import MOTO_CONFIG, LocalStack

from tests.fault_injection import ANSWER_LOST, UNAVAILABLE, failing

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("workflows")]

MACHINE_OF = {STATUS_LOG.kind: "UaiStatusLogStateMachine", DEVICE_ACTION.kind: "ThingSpaceDeviceActionStateMachine"}


@pytest.fixture
def deadlines(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """The stack on moto, this process configured as the template configures the sweeper, except that each workflow
    is a machine that ends at once without finishing the operation (a workflow still running, as the sweeper sees
    it). Yields each kind's deadline as its deployed state machine says."""
    with mock_aws(config=MOTO_CONFIG), LocalStack() as local:
        local.provision()
        sfn = boto3.client("stepfunctions")
        still_running = sfn.create_state_machine(
            name="still-running",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        for key, value in local.provisioned.environment["OperationSweeperFunction"].items():
            monkeypatch.setenv(key, still_running if key.endswith("_STATE_MACHINE_ARN") else value)
        reset_settings()
        yield {
            kind: json.loads(
                sfn.describe_state_machine(stateMachineArn=local.provisioned.state_machines[machine])["definition"]
            )["TimeoutSeconds"]
            for kind, machine in MACHINE_OF.items()
        }


@pytest.mark.parametrize("workflow", [STATUS_LOG, DEVICE_ACTION], ids=lambda workflow: workflow.kind)
def test_the_sweeper_re_drives_an_operation_only_after_its_own_workflows_deadline(
    deadlines: dict[str, int], workflow: Workflow
) -> None:
    deadline = deadlines[workflow.kind]
    assert workflow.deadline_seconds(get_settings()) == deadline
    with clock.frozen(time.time()) as advance:
        operation = submit_operation(workflow, "tenant-1", {})
        # Its execution may have started as late as the StartExecution call's longest after the record.
        advance(deadline + aws.LONGEST_CALL_SECONDS - 1)
        assert sweep_stuck_operations().restarted == 0, "re-driven while its workflow may still run"
        advance(1)
        assert sweep_stuck_operations().restarted == 1
        # The re-drive is given the same time again.
        advance(deadline + aws.LONGEST_CALL_SECONDS - 1)
        assert sweep_stuck_operations().restarted == 0
    stored = OperationStore().get(operation.id)
    assert stored is not None and (stored.status, stored.start_attempts) == ("Pending", 2)


def test_a_polling_id_stays_readable_through_every_attempt_of_its_kind(deadlines: dict[str, int]) -> None:
    """A slow kind's Pending operation must not answer 410 while its last permitted attempt may still run."""
    settings = get_settings()
    with clock.frozen(time.time()):
        started = clock.epoch()
        operation = submit_operation(DEVICE_ACTION, "tenant-1", {})
    last_attempt_ends = started + settings.max_start_attempts * DEVICE_ACTION.due_after_seconds(settings)
    assert operation.available_until >= last_attempt_ends + settings.result_retention_seconds


@pytest.mark.parametrize(
    ("fault", "started"),
    [
        (ANSWER_LOST, True),  # StartExecution took effect, its answer never came back
        (UNAVAILABLE, True),  # Step Functions failed while handling it: it may have started the execution
        ("ThrottlingException", False),  # refused: nothing started
        ("unreachable", False),  # no connection: nothing was sent
    ],
)
def test_a_start_that_may_have_happened_waits_out_the_deadline_one_that_did_not_is_re_driven_at_once(
    deadlines: dict[str, int], monkeypatch: pytest.MonkeyPatch, fault: str, started: bool
) -> None:
    with clock.frozen(time.time()) as advance:
        with failing(monkeypatch, "stepfunctions", start_execution=(fault, 1)):
            operation = submit_operation(DEVICE_ACTION, "tenant-1", {})
        advance(60)  # the next sweep
        assert sweep_stuck_operations().restarted == (0 if started else 1)
        if started:
            advance(deadlines[DEVICE_ACTION.kind] + aws.LONGEST_CALL_SECONDS - 60)
            assert sweep_stuck_operations().restarted == 1
    stored = OperationStore().get(operation.id)
    assert stored is not None and stored.start_attempts == 2
