"""The template watches everything that can fail quietly: each state machine, HTTP API and dead-letter queue has
its alarm, and the alarms and dashboard read metric names the core really emits."""

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
    return {ref for alarm in _alarms().values() for metric in _watched(alarm)
            if metric["Namespace"] == namespace and metric["MetricName"] == metric_name
            for ref in _dimension_refs(metric)}


@pytest.mark.parametrize("machine", _of_type("AWS::Serverless::StateMachine"))
def test_every_state_machine_has_a_failed_executions_alarm(machine: str) -> None:
    assert machine in _alarmed("AWS/States", "ExecutionsFailed")
    assert machine in _alarmed("AWS/States", "ExecutionsTimedOut")


@pytest.mark.parametrize("api", _of_type("AWS::Serverless::HttpApi"))
def test_every_http_api_has_a_5xx_rate_alarm(api: str) -> None:
    assert api in _alarmed("AWS/ApiGateway", "5xx")
    assert api in _alarmed("AWS/ApiGateway", "Count")


def test_every_dead_letter_queue_has_a_depth_alarm() -> None:
    dead_letter_queues = {RESOURCES[name]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                          for name in _of_type("AWS::SQS::Queue")
                          if "RedrivePolicy" in RESOURCES[name].get("Properties", {})}
    assert dead_letter_queues
    assert dead_letter_queues <= _alarmed("AWS/SQS", "ApproximateNumberOfMessagesVisible")


def test_every_alarm_notifies_the_alarm_topic() -> None:
    for name, alarm in _alarms().items():
        assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"], name


def test_alarms_and_dashboard_read_only_metrics_the_core_emits() -> None:
    read = {metric["MetricName"] for alarm in _alarms().values() for metric in _watched(alarm)
            if metric["Namespace"] == {"Fn::Sub": "pollgate-${Stage}"}}
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    read |= set(re.findall(r'"((?:Operation|Webhook)\w+)"', body))  # the dashboard's application metrics
    assert {"WebhookDelivered", "WebhookFailed", "OperationSubmitted", "OperationSucceeded", "OperationFailed",
            "OperationLatency"} <= read
    assert read <= EMITTED, read - EMITTED
    globals_environment = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_environment["POWERTOOLS_METRICS_NAMESPACE"] == {"Fn::Sub": "pollgate-${Stage}"}
    assert globals_environment["POWERTOOLS_SERVICE_NAME"] == "pollgate"
