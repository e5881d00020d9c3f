"""The alarms that template.yaml repeats for each resource of a kind, written from one list (`make template`).

    python -m tools.template_alarms            # rewrite the block between the markers in template.yaml
    python -m tools.template_alarms --check    # exit 1 when the committed block is not what this writes

Three kinds, each one alarm per resource: a queue's first message (`<Queue>Alarm` on `<Queue>Queue`), a workflow's
broken executions (`<Machine>ExecutionsFailedAlarm` on `<Machine>StateMachine`) and an HTTP API's 5xx rate
(`<Api>Api5xxAlarm` on `<Api>Api`). A new queue, state machine or HTTP API gets its alarm by a line in ALARMS and
`make template`; tests/unit/test_template_alarms.py fails while the template's block differs from what this writes,
and tests/unit/test_observability_template.py while a resource of those kinds has no alarm.

Why not Fn::ForEach in the template itself: tests/unit/test_language_extensions.py.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
BEGIN = (
    "  # BEGIN generated alarms: one per failure queue, workflow and HTTP API, from the list in\n"
    "  # tools/template_alarms.py (`make template` writes this block; edit the list, not the block).\n"
)
END = "  # END generated alarms\n"


@dataclass(frozen=True)
class Alarm:
    kind: str  # "queue", "workflow" or "api"
    resource: str  # the logical id's stem: WebhookDeadLetter -> WebhookDeadLetterQueue, WebhookDeadLetterAlarm
    name: str  # after pollgate-<Stage>-
    description: str
    comment: str = ""  # why it alarms, above the first alarm of its kind


QUEUE_COMMENT = """\
A message is in the dead-letter queue only after five receives failed: the engine itself could not finish
(an AWS error, an owner's handler raising). One is enough to look."""
SCHEDULED_COMMENT = """\
A scheduled function failed twice in a row (or EventBridge could not invoke it): the sweeper, the webhook
retrier or the Densify scheduler is not doing its job. The messages say which, and why."""
WORKFLOW_COMMENT = """\
Workers that raise end in MarkFailed (a succeeded execution); a failed, timed-out or aborted execution means
the workflow itself broke, and the sweeper is now the only thing finishing those operations."""
API_COMMENT = """\
A 5xx is always pollgate's fault (every expected error is a 4xx in the face's shape): more than 1% of at
least 20 requests, in two of three 5-minute periods."""

ALARMS = [
    Alarm(
        "queue",
        "WebhookDeadLetter",
        "webhook-dead-letters",
        "Webhook deliveries reached the dead-letter queue; read them, fix the cause, redrive.",
        QUEUE_COMMENT,
    ),
    Alarm(
        "queue",
        "ScheduledRunFailure",
        "scheduled-run-failures",
        "A scheduled function's run failed (sweeper, webhook retrier or Densify scheduler); read the queue.",
        SCHEDULED_COMMENT,
    ),
    Alarm(
        "workflow",
        "UaiStatusLog",
        "uai-status-log-executions-failed",
        "UAI status-log workflow executions failed, timed out or were aborted.",
        WORKFLOW_COMMENT,
    ),
    Alarm(
        "workflow",
        "ThingSpaceDeviceAction",
        "thingspace-device-action-executions-failed",
        "ThingSpace device-action workflow executions failed, timed out or were aborted.",
    ),
    Alarm(
        "api", "Uai", "uai-api-5xx-rate", "More than 1% of Updates and Insights API requests answered 5xx.", API_COMMENT
    ),
    Alarm("api", "Densify", "densify-api-5xx-rate", "More than 1% of Densify API requests answered 5xx."),
    Alarm("api", "ThingSpace", "thingspace-api-5xx-rate", "More than 1% of ThingSpace API requests answered 5xx."),
]

NOTIFY = """\
      AlarmActions: [!Ref AlarmTopic]
      OKActions: [!Ref AlarmTopic]
"""

QUEUE = """\
  {resource}Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub pollgate-${{Stage}}-{name}
      AlarmDescription: {description}
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !GetAtt {resource}Queue.QueueName
      Statistic: Maximum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
"""

WORKFLOW_METRIC = """\
        - Id: {id}
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: AWS/States
              MetricName: {metric}
              Dimensions: [{{Name: StateMachineArn, Value: !Ref {resource}StateMachine}}]
            Period: 300
            Stat: Sum
"""

WORKFLOW = """\
  {resource}ExecutionsFailedAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub pollgate-${{Stage}}-{name}
      AlarmDescription: {description}
      Metrics:
        - Id: broken
          Expression: FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)
          Label: Executions failed, timed out or aborted
{metrics}\
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
"""

API = """\
  {resource}Api5xxAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub pollgate-${{Stage}}-{name}
      AlarmDescription: {description}
      Metrics:
        - Id: rate
          Expression: IF(FILL(requests, 0) >= 20, 100 * FILL(errors, 0) / requests, 0)
          Label: 5xx (%)
        - Id: errors
          ReturnData: false
          MetricStat:
            Metric: {{Namespace: AWS/ApiGateway, MetricName: 5xx, Dimensions: [{{Name: ApiId, Value: !Ref {resource}Api}}]}}
            Period: 300
            Stat: Sum
        - Id: requests
          ReturnData: false
          MetricStat:
            Metric: {{Namespace: AWS/ApiGateway, MetricName: Count, Dimensions: [{{Name: ApiId, Value: !Ref {resource}Api}}]}}
            Period: 300
            Stat: Sum
      EvaluationPeriods: 3
      DatapointsToAlarm: 2
      Threshold: 1
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
"""  # noqa: E501 - the template's own line length

WORKFLOW_METRICS = (
    ("failed", "ExecutionsFailed"),
    ("timedOut", "ExecutionsTimedOut"),
    ("aborted", "ExecutionsAborted"),
)


def logical_id(alarm: Alarm) -> str:
    return {
        "queue": f"{alarm.resource}Alarm",
        "workflow": f"{alarm.resource}ExecutionsFailedAlarm",
        "api": f"{alarm.resource}Api5xxAlarm",
    }[alarm.kind]


def watched(alarm: Alarm) -> str:
    """The logical id of the resource the alarm watches."""
    return {
        "queue": f"{alarm.resource}Queue",
        "workflow": f"{alarm.resource}StateMachine",
        "api": f"{alarm.resource}Api",
    }[alarm.kind]


def _one(alarm: Alarm) -> str:
    fields = {"resource": alarm.resource, "name": alarm.name, "description": alarm.description}
    if alarm.kind == "queue":
        body = QUEUE.format(**fields)
    elif alarm.kind == "workflow":
        metrics = "".join(
            WORKFLOW_METRIC.format(id=id_, metric=metric, resource=alarm.resource) for id_, metric in WORKFLOW_METRICS
        )
        body = WORKFLOW.format(metrics=metrics, **fields)
    elif alarm.kind == "api":
        body = API.format(**fields)
    else:
        raise ValueError(f"no alarm of kind {alarm.kind!r}")
    comment = "".join(f"  # {line}\n" for line in alarm.comment.splitlines())
    return comment + body + NOTIFY


def render(alarms: list[Alarm] = ALARMS) -> str:
    """The block, markers included: each alarm, a blank line between them."""
    return BEGIN + "\n".join(_one(alarm) for alarm in alarms) + END


def _split(text: str) -> tuple[str, str, str]:
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{TEMPLATE.name}: expected one block between\n{BEGIN}and\n{END}")
    before, rest = text.split(BEGIN)
    block, after = rest.split(END)
    return before, BEGIN + block + END, after


def committed_block(text: str) -> str:
    return _split(text)[1]


def rewritten(text: str) -> str:
    before, _, after = _split(text)
    return before + render() + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.template_alarms",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check", action="store_true", help="only say whether template.yaml is up to date")
    args = parser.parse_args(argv)
    text = TEMPLATE.read_text()
    if args.check:
        if committed_block(text) != render():
            print(f"{TEMPLATE.name}: the generated alarms differ from tools/template_alarms.py: run make template")
            return 1
        return 0
    new = rewritten(text)
    if new != text:
        TEMPLATE.write_text(new)
        print(f"{TEMPLATE.name}: alarms rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
