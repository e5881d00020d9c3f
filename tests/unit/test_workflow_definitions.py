"""Both state machines, as the template deploys them: every Task retries the transient errors of what it calls,
with bounded backoff, and never retries an answer that cannot change; each machine's TimeoutSeconds is a
deadline the workflow can keep (Express workflows stop at 300 s), which the operation sweeper relies on.
That the definitions run is the integration tests' part (moto executes them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pollgate.settings import EXPRESS_WORKFLOW_LIMIT_SECONDS, Settings
from pollgate.thingspace.workflow import WORKFLOW as DEVICE_ACTION
from pollgate.uai.workflow import WORKFLOW as STATUS_LOG
from pollgate.webhooks.recovery import WORKFLOW as WEBHOOK_RECOVERY
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def _deployed(properties: dict[str, Any]) -> dict[str, Any]:
    """The definition with the substitutions that CloudFormation makes from the template's Mappings (the deadline);
    the others (ARNs, names) stay placeholders inside their JSON strings."""
    text = (ROOT / properties["DefinitionUri"]).read_text()
    for key, value in properties.get("DefinitionSubstitutions", {}).items():
        if isinstance(value, dict) and "Fn::FindInMap" in value:
            mapping, top, second = value["Fn::FindInMap"]
            text = text.replace("${" + key + "}", str(TEMPLATE["Mappings"][mapping][top][second]))
    return json.loads(text)  # type: ignore[no-any-return]


MACHINES = {
    name: _deployed(resource["Properties"])
    for name, resource in RESOURCES.items()
    if resource["Type"] == "AWS::Serverless::StateMachine"
}
EXPRESS_LIMIT_SECONDS = EXPRESS_WORKFLOW_LIMIT_SECONDS

# What Lambda's Invoke API and Step Functions report when Lambda itself, not the function, failed.
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
}
# What an optimized DynamoDB task reports for throttling and DynamoDB's own faults.
DYNAMODB_TRANSIENT = {
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerError",
}
TRANSIENT_BY_RESOURCE = {
    "arn:aws:states:::lambda:invoke": LAMBDA_TRANSIENT,
    "arn:aws:states:::dynamodb:updateItem": DYNAMODB_TRANSIENT,
}


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        if state["Type"] == "Map":
            yield from _states(state["ItemProcessor"]["States"])
        for branch in state.get("Branches", []):
            yield from _states(branch["States"])


TASKS = [
    (machine, name, state)
    for machine, definition in MACHINES.items()
    for name, state in _states(definition["States"])
    if state["Type"] == "Task"
]


def _worst_wait(retrier: dict[str, Any]) -> float:
    """The longest a retrier waits in all (before jitter, which only shortens it)."""
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return float(sum(min(interval * rate**attempt, cap) for attempt in range(retrier.get("MaxAttempts", 3))))


def test_both_state_machines_are_read() -> None:
    assert set(MACHINES) == {
        "UaiStatusLogStateMachine",
        "ThingSpaceDeviceActionStateMachine",
        "WebhookRecoveryStateMachine",
    }
    assert len(TASKS) >= 7


@pytest.mark.parametrize(("machine", "name", "state"), TASKS, ids=[f"{m}.{n}" for m, n, _ in TASKS])
def test_every_task_retries_the_transient_errors_of_what_it_calls(
    machine: str, name: str, state: dict[str, Any]
) -> None:
    retried = {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}
    assert TRANSIENT_BY_RESOURCE[state["Resource"]] <= retried, f"{machine}.{name} does not retry them all"


@pytest.mark.parametrize(("machine", "name", "state"), TASKS, ids=[f"{m}.{n}" for m, n, _ in TASKS])
def test_every_retry_is_bounded_and_never_repeats_a_refused_condition(
    machine: str, name: str, state: dict[str, Any]
) -> None:
    for retrier in state.get("Retry", []):
        assert 1 <= retrier["MaxAttempts"] <= 6, retrier
        assert _worst_wait(retrier) < MACHINES[machine]["TimeoutSeconds"], retrier
        # A conditional write refused is an answer (the operation is finished), not a fault.
        assert "DynamoDB.ConditionalCheckFailedException" not in retrier["ErrorEquals"]
        assert "States.ALL" not in retrier["ErrorEquals"], "States.ALL would retry a refused condition too"


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_each_machine_has_a_deadline_it_can_keep(machine: str) -> None:
    deadline = MACHINES[machine].get("TimeoutSeconds")
    assert isinstance(deadline, int), f"{machine} has no TimeoutSeconds: the sweeper could not know it ended"
    assert deadline <= EXPRESS_LIMIT_SECONDS
    # Each Lambda task's own timeout fits inside the deadline with room for a retry.
    task_timeouts = [
        state["TimeoutSeconds"]
        for m, _, state in TASKS
        if m == machine and state["Resource"] == "arn:aws:states:::lambda:invoke"
    ]
    assert task_timeouts and 2 * max(task_timeouts) <= deadline


def _function_environments() -> dict[str, dict[str, Any]]:
    """Every function's environment as SAM resolves it (Globals merged, Mappings read; a !Ref to a state machine is
    its logical id)."""
    stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"))
    return {
        function.name: (function.environment or {}).get("Variables", {})
        for function in SamFunctionProvider(stacks, ignore_code_extraction_warnings=True).get_all()
    }


def test_every_function_knows_each_workflows_deadline_as_its_state_machine_has_it() -> None:
    """The sweeper re-drives an operation only past its workflow's deadline, and the submitting function dates its
    first due time by it: both read it from their environment, which must say what the state machine says."""
    environments = _function_environments()
    starters = {
        name: environment
        for name, environment in environments.items()
        if any(key.endswith("_STATE_MACHINE_ARN") for key in environment)
    }
    assert {"OperationSweeperFunction", "UaiSubmitStatusLogFunction"} <= set(starters)
    for name, environment in starters.items():
        settings = Settings.from_environment({key: str(value) for key, value in environment.items()})
        for workflow in (STATUS_LOG, DEVICE_ACTION, WEBHOOK_RECOVERY):  # every kind pollgate.registry registers
            machine = workflow.state_machine_arn(settings)
            if not machine:
                continue  # this function does not start that workflow
            assert workflow.deadline_seconds(settings) == MACHINES[machine]["TimeoutSeconds"], (name, workflow.kind)
