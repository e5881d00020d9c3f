"""The runtime's event sources on moto, from a small template of their own: SQS mappings, rate schedules, routes."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pollgate_local.events import EventSources, Scheduler, SqsPoller
from pollgate_local.stack import MOTO_CONFIG, LocalStack

from tests.helpers.waiting import eventually

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # samtranslator's own, on every read

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  RecordFile:
    Type: String
Globals:
  Function:
    Runtime: python3.13
    Timeout: 5
    Environment:
      Variables:
        RECORD_FILE: !Ref RecordFile
        QUEUE_URL: !Ref Deliveries
Resources:
  DeadLetters:
    Type: AWS::SQS::Queue
  Deliveries:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: 2
  DeliverFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: deliver/
      Handler: app.handler
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Deliveries.Arn
            BatchSize: 3
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: 2
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: deliver/
      Handler: app.tick
      Events:
        Often:
          Type: Schedule
          Properties:
            Schedule: rate(2 minutes)
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 3 * * ? *)
"""

HANDLER = """
import json, os, threading, time

_lock = threading.Lock()

def _record(entry):
    with _lock, open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps(entry) + "\\n")

def handler(event, context):
    started = time.time()
    time.sleep(1.0 if event["Records"][0]["body"].startswith("slow") else 0.2)
    bodies = [record["body"] for record in event["Records"]]
    _record({"bodies": bodies, "start": started, "end": time.time(), "queue": os.environ["QUEUE_URL"]})
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}
                                  for record in event["Records"] if record["body"].startswith("fail")]}

def tick(event, context):
    return {"source": event["source"], "detail-type": event["detail-type"]}
"""


@pytest.fixture
def records(tmp_path: Path) -> Path:
    return tmp_path / "records.jsonl"


@pytest.fixture
def stack(tmp_path: Path, records: Path) -> Iterator[LocalStack]:
    (tmp_path / "deliver").mkdir()
    (tmp_path / "deliver" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
    with mock_aws(config=MOTO_CONFIG), LocalStack(tmp_path / "template.yaml", {"RecordFile": str(records)}) as local:
        local.provision()
        yield local


def read(records: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in records.read_text().splitlines()] if records.exists() else []


def test_the_template_sqs_mapping_is_read_with_its_settings(stack: LocalStack) -> None:
    [source] = stack.sqs_sources()
    assert (source.function, source.batch_size, source.report_batch_item_failures, source.maximum_concurrency) == (
        "DeliverFunction",
        3,
        True,
        2,
    )
    assert source.queue_url == stack.provisioned.queues["Deliveries"]
    assert stack.provisioned.environment["DeliverFunction"]["QUEUE_URL"] == source.queue_url
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.provisioned.queue_arns["DeadLetters"],
        "maxReceiveCount": 2,
    }


def test_batches_respect_batch_size_and_failed_items_come_back(stack: LocalStack, records: Path) -> None:
    [source] = stack.sqs_sources()
    sqs = boto3.client("sqs")
    for body in ("a", "b", "fail-c", "d"):
        sqs.send_message(QueueUrl=source.queue_url, MessageBody=body)
    stop = threading.Event()
    poller = SqsPoller(source, stack.functions["DeliverFunction"], stop)
    poller.start()
    try:
        # fail-c is kept each time it is reported, then moved to the dead-letter queue after 2 receives.
        eventually(lambda: sum(b == "fail-c" for r in read(records) for b in r["bodies"]) >= 2, 10)
    finally:
        stop.set()
        for thread in poller.threads:
            thread.join(5)
    batches = [r["bodies"] for r in read(records)]
    assert max(len(batch) for batch in batches) <= 3
    delivered = [body for batch in batches for body in batch]
    assert sorted(set(delivered)) == ["a", "b", "d", "fail-c"]
    assert all(delivered.count(body) == 1 for body in ("a", "b", "d"))  # succeeded items were deleted
    dead = stack.provisioned.queues["DeadLetters"]

    def dead_lettered() -> list[str]:
        sqs.receive_message(QueueUrl=source.queue_url, WaitTimeSeconds=0)  # the redrive happens on a receive
        return [m["Body"] for m in sqs.receive_message(QueueUrl=dead, VisibilityTimeout=0).get("Messages", [])]

    eventually(lambda: dead_lettered() == ["fail-c"], 5)


def test_maximum_concurrency_runs_that_many_invocations_at_once(stack: LocalStack, records: Path) -> None:
    [source] = stack.sqs_sources()
    sqs = boto3.client("sqs")
    for n in range(8):
        sqs.send_message(QueueUrl=source.queue_url, MessageBody=f"m{n}")
    sources = EventSources(stack, lambda line: None)
    sources.start()
    try:
        eventually(lambda: sum(len(r["bodies"]) for r in read(records)) >= 8, 10)
    finally:
        sources.stop()
    spans = [(r["start"], r["end"]) for r in read(records)]
    most = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
    assert most == 2


def test_a_mapping_runs_up_to_its_maximum_concurrency_though_it_reads_with_fewer_pollers(
    stack: LocalStack, records: Path
) -> None:
    [source] = stack.sqs_sources()
    wide = dataclasses.replace(source, maximum_concurrency=8)  # more than the mapping's 5 pollers
    sqs = boto3.client("sqs")
    for n in range(24):  # 8 batches of 3, each taking a second
        sqs.send_message(QueueUrl=source.queue_url, MessageBody=f"slow-{n}")
    stop = threading.Event()
    poller = SqsPoller(wide, stack.functions["DeliverFunction"], stop)
    poller.start()
    try:
        eventually(lambda: sum(len(r["bodies"]) for r in read(records)) >= 24, 20)
    finally:
        stop.set()
        for thread in poller.threads:
            thread.join(5)
    spans = [(r["start"], r["end"]) for r in read(records)]
    most = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
    assert most == 8
    # (every message, some maybe twice: the queue's 1 s visibility timeout is shorter than a batch here)
    assert {b for r in read(records) for b in r["bodies"]} == {f"slow-{n}" for n in range(24)}


def test_rate_schedules_fire_with_an_eventbridge_event_and_cron_is_reported(stack: LocalStack) -> None:
    schedules = {s.name: s for s in stack.schedules()}
    assert schedules["Often"].period_seconds == 120.0
    assert schedules["Nightly"].period_seconds is None
    lines: list[str] = []
    sources = EventSources(stack, lines.append)
    assert [s.schedule.name for s in sources.schedulers] == ["Often"]
    assert "cron(0 3 * * ? *) of TickFunction is not fired locally" in lines[0]
    fired = Scheduler(schedules["Often"], stack.functions["TickFunction"], threading.Event(), lines.append).fire()
    assert fired == {"source": "aws.events", "detail-type": "Scheduled Event"}
