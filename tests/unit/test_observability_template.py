"""The template watches everything that can fail quietly: each state machine, HTTP API and dead-letter queue has
its alarm, a scheduled function's failed runs land in an alarmed queue, and the alarms and dashboard read metric
names the core really emits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pollgate import observability
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
EMITTED = {value for name, value in vars(observability).items() if name.isupper() and isinstance(value, str)}


def _of_type(kind: str) -> list[str]:
    return sorted(name for name, resource in RESOURCES.items() if resource["Type"] == kind)


def _alarms() -> dict[str, dict[str, Any]]:
    return {name: RESOURCES[name]["Properties"] for name in _of_type("AWS::CloudWatch::Alarm")}


def _watched(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric an alarm reads (a single metric, or each metric of its math)."""
    if "MetricName" in alarm:
        return [alarm]
    return [query["MetricStat"]["Metric"] for query in alarm.get("Metrics", []) if "MetricStat" in query]


def _dimension_refs(metric: dict[str, Any]) -> set[str]:
    refs = set()
    for dimension in metric.get("Dimensions", []):
        value = dimension["Value"]
        if isinstance(value, dict):
            refs.add(str(value.get("Ref") or value.get("Fn::GetAtt", [""])[0]))
    return refs


def _alarmed(namespace: str, metric_name: str) -> set[str]:
    return {
        ref
        for alarm in _alarms().values()
        for metric in _watched(alarm)
        if metric["Namespace"] == namespace and metric["MetricName"] == metric_name
        for ref in _dimension_refs(metric)
    }


@pytest.mark.parametrize("machine", _of_type("AWS::Serverless::StateMachine"))
def test_every_state_machine_has_a_failed_executions_alarm(machine: str) -> None:
    assert machine in _alarmed("AWS/States", "ExecutionsFailed")
    assert machine in _alarmed("AWS/States", "ExecutionsTimedOut")


@pytest.mark.parametrize("api", _of_type("AWS::Serverless::HttpApi"))
def test_every_http_api_has_a_5xx_rate_alarm(api: str) -> None:
    assert api in _alarmed("AWS/ApiGateway", "5xx")
    assert api in _alarmed("AWS/ApiGateway", "Count")


def _scheduled_functions() -> list[str]:
    return sorted(
        name
        for name in _of_type("AWS::Serverless::Function")
        if any(event["Type"] == "Schedule" for event in RESOURCES[name]["Properties"].get("Events", {}).values())
    )


def _failure_destinations(function: str) -> tuple[list[Any], list[Any]]:
    """Where a failed asynchronous run of `function` goes: Lambda's OnFailure, and each Schedule event's DLQ."""
    properties = RESOURCES[function]["Properties"]
    on_failure = properties.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure", {})
    schedules = [event["Properties"] for event in properties["Events"].values() if event["Type"] == "Schedule"]
    return [on_failure.get("Destination")], [schedule.get("DeadLetterConfig", {}).get("Arn") for schedule in schedules]


def test_every_dead_letter_queue_has_a_depth_alarm() -> None:
    dead_letter_queues = {
        RESOURCES[name]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for name in _of_type("AWS::SQS::Queue")
        if "RedrivePolicy" in RESOURCES[name].get("Properties", {})
    }
    for function in _scheduled_functions():
        lambda_destinations, eventbridge_destinations = _failure_destinations(function)
        dead_letter_queues |= {arn["Fn::GetAtt"][0] for arn in lambda_destinations + eventbridge_destinations if arn}
    assert {"WebhookDeadLetterQueue", "ScheduledRunFailureQueue"} <= dead_letter_queues
    assert dead_letter_queues <= _alarmed("AWS/SQS", "ApproximateNumberOfMessagesVisible")


@pytest.mark.parametrize("function", _scheduled_functions())
def test_every_scheduled_function_records_its_failed_runs_in_a_queue(function: str) -> None:
    lambda_destinations, eventbridge_destinations = _failure_destinations(function)
    for destination in lambda_destinations + eventbridge_destinations:
        assert destination, f"{function}: a failed run would be dropped"
        assert RESOURCES[destination["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    assert RESOURCES[function]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"


def test_eventbridge_may_send_to_every_queue_a_schedule_dead_letters_into() -> None:
    allowed: dict[str, set[str]] = {}
    for name in _of_type("AWS::SQS::QueuePolicy"):
        properties = RESOURCES[name]["Properties"]
        for statement in properties["PolicyDocument"]["Statement"]:
            if (
                statement["Principal"] == {"Service": "events.amazonaws.com"}
                and statement["Action"] == "sqs:SendMessage"
            ):
                rules = {arn["Fn::GetAtt"][0] for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]}
                for queue in properties["Queues"]:
                    allowed.setdefault(queue["Ref"], set()).update(rules)
    for function in _scheduled_functions():
        for event_name, event in RESOURCES[function]["Properties"]["Events"].items():
            if event["Type"] == "Schedule":
                queue = event["Properties"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
                # SAM names the rule it makes of a Schedule event <function logical id><event name>.
                assert f"{function}{event_name}" in allowed.get(queue, set()), (function, event_name)


def test_every_alarm_notifies_the_alarm_topic() -> None:
    for name, alarm in _alarms().items():
        assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"], name


def test_alarms_and_dashboard_read_only_metrics_the_core_emits() -> None:
    read = {
        metric["MetricName"]
        for alarm in _alarms().values()
        for metric in _watched(alarm)
        if metric["Namespace"] == {"Fn::Sub": "pollgate-${Stage}"}
    }
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    read |= set(re.findall(r'"((?:Operation|Webhook)\w+)"', body))  # the dashboard's application metrics
    assert {
        "WebhookDelivered",
        "WebhookFailed",
        "OperationSubmitted",
        "OperationSucceeded",
        "OperationFailed",
        "OperationLatency",
    } <= read
    assert read <= EMITTED, read - EMITTED
    globals_environment = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_environment["POWERTOOLS_METRICS_NAMESPACE"] == {"Fn::Sub": "pollgate-${Stage}"}
    assert globals_environment["POWERTOOLS_SERVICE_NAME"] == "pollgate"
