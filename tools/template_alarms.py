"""The alarms that template.yaml repeats for each resource of a kind, written from one list (`make template`).

    python -m tools.template_alarms            # rewrite the block between the markers in template.yaml
    python -m tools.template_alarms --check    # exit 1 when the committed block is not what this writes

Three kinds, each one alarm per resource: a queue's first message (`<Queue>Alarm` on `<Queue>Queue`), a workflow's
broken executions (`<Machine>ExecutionsFailedAlarm` on `<Machine>StateMachine`) and an HTTP API's 5xx rate
(`<Api>Api5xxAlarm` on `<Api>Api`). A new queue, state machine or HTTP API gets its alarm by a line in ALARMS and
`make template`; tests/unit/test_template_alarms.py fails while the template's block differs from what this writes,
and tests/unit/test_observability_template.py while a resource of those kinds has no alarm. Every alarm is written
by one renderer (ALARM); what differs by kind (what it measures, when it breaches) is a row of KINDS.

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
        "workflow",
        "WebhookRecovery",
        "webhook-recovery-executions-failed",
        "Webhook recovery workflow executions failed, timed out or were aborted.",
    ),
    Alarm(
        "api", "Uai", "uai-api-5xx-rate", "More than 1% of Updates and Insights API requests answered 5xx.", API_COMMENT
    ),
    Alarm("api", "Densify", "densify-api-5xx-rate", "More than 1% of Densify API requests answered 5xx."),
    Alarm("api", "ThingSpace", "thingspace-api-5xx-rate", "More than 1% of ThingSpace API requests answered 5xx."),
]

# Every alarm: its names, what it measures (its kind's), when it breaches (its kind's), and who hears of it.
ALARM = """\
  {logical_id}:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub pollgate-${{Stage}}-{name}
      AlarmDescription: {description}
{measure}{breach}\
      TreatMissingData: notBreaching
      AlarmActions: [!Ref AlarmTopic]
      OKActions: [!Ref AlarmTopic]
"""

# One metric a metric-math alarm's expression reads (its kind says which metric, of which resource).
QUERY = """\
        - Id: {id}
          ReturnData: false
          MetricStat:
{metric}\
            Period: 300
            Stat: Sum
"""

FIRST_BREACH = """\
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
"""


@dataclass(frozen=True)
class Kind:
    """How a resource of one kind is watched. Each text is formatted with the watched resource's logical id
    (`{watched}`); a query's metric also with the metric's name (`{metric}`)."""

    alarm_suffix: str  # the alarm's logical id is the resource's stem and this
    watched_suffix: str  # the watched resource's logical id is the stem and this
    measure: str  # the properties that say what is measured: one metric, or a metric-math expression
    breach: str = FIRST_BREACH
    queries: tuple[tuple[str, str], ...] = ()  # (id, metric name): each metric the expression reads, in order
    query_metric: str = ""  # one query's metric


KINDS = {
    "queue": Kind(
        "Alarm",
        "Queue",
        measure="""\
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !GetAtt {watched}.QueueName
      Statistic: Maximum
      Period: 300
""",
    ),
    "workflow": Kind(
        "ExecutionsFailedAlarm",
        "StateMachine",
        measure="""\
      Metrics:
        - Id: broken
          Expression: FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)
          Label: Executions failed, timed out or aborted
""",
        queries=(("failed", "ExecutionsFailed"), ("timedOut", "ExecutionsTimedOut"), ("aborted", "ExecutionsAborted")),
        query_metric="""\
            Metric:
              Namespace: AWS/States
              MetricName: {metric}
              Dimensions: [{{Name: StateMachineArn, Value: !Ref {watched}}}]
""",
    ),
    "api": Kind(
        "Api5xxAlarm",
        "Api",
        measure="""\
      Metrics:
        - Id: rate
          Expression: IF(FILL(requests, 0) >= 20, 100 * FILL(errors, 0) / requests, 0)
          Label: 5xx (%)
""",
        breach="""\
      EvaluationPeriods: 3
      DatapointsToAlarm: 2
      Threshold: 1
      ComparisonOperator: GreaterThanThreshold
""",
        queries=(("errors", "5xx"), ("requests", "Count")),
        query_metric="""\
            Metric: {{Namespace: AWS/ApiGateway, MetricName: {metric}, Dimensions: [{{Name: ApiId, Value: !Ref {watched}}}]}}
""",  # noqa: E501 - the template's own line length
    ),
}


def _kind(alarm: Alarm) -> Kind:
    if alarm.kind not in KINDS:
        raise ValueError(f"no alarm of kind {alarm.kind!r}")
    return KINDS[alarm.kind]


def logical_id(alarm: Alarm) -> str:
    return alarm.resource + _kind(alarm).alarm_suffix


def watched(alarm: Alarm) -> str:
    """The logical id of the resource the alarm watches."""
    return alarm.resource + _kind(alarm).watched_suffix


def _one(alarm: Alarm) -> str:
    kind, resource = _kind(alarm), watched(alarm)
    queries = "".join(
        QUERY.format(id=id_, metric=kind.query_metric.format(metric=metric, watched=resource))
        for id_, metric in kind.queries
    )
    comment = "".join(f"  # {line}\n" for line in alarm.comment.splitlines())
    return comment + ALARM.format(
        logical_id=logical_id(alarm),
        name=alarm.name,
        description=alarm.description,
        measure=kind.measure.format(watched=resource) + queries,
        breach=kind.breach,
    )


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
