"""The template's event sources that are not HTTP: SQS queues polled into functions, `rate(...)` schedules."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3

from pollgate_local import ACCOUNT, REGION
from pollgate_local.functions import Function, FunctionError
from pollgate_local.stack import LocalStack, Schedule, SqsSource

log = logging.getLogger("pollgate_local")

# How long one receive waits for messages: also how long a poller takes to notice it should stop (unless the
# services answer its long poll at once when told the runtime stops, as the runtime's own services do).
_LONG_POLL_SECONDS = 1
_SQS_RECEIVE_LIMIT = 10  # the SQS API's own limit per ReceiveMessage
# Lambda's SQS mapping reads with five pollers to begin with (and more as the backlog grows, which here the
# mapping's concurrency stands in for: a poller hands its batch on and reads again).
_POLLERS = 5


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping sends, built from ReceiveMessage output."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message.get("Body", ""),
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value.get("DataType"),
                    }
                    for name, value in (message.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def scheduled_event(rule: str) -> dict[str, Any]:
    """The event EventBridge sends a function on a schedule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


class SqsPoller:
    """One event source mapping: a few pollers receiving batches, each batch one invocation of the function, at
    most `maximum_concurrency` invocations at once.

    Like Lambda: the mapping reads with five pollers to begin with (fewer when the concurrency is lower) rather
    than one per allowed invocation, and a poller reads only while an invocation may start, so an idle mapping
    costs five long polls whatever its MaximumConcurrency. A batch whose invocation fails stays on the queue and
    comes back after its visibility timeout (the queue's redrive policy then applies); with
    ReportBatchItemFailures only the items the function names are kept, the rest are deleted.
    """

    def __init__(
        self, source: SqsSource, function: Function, stop: threading.Event, long_poll_seconds: int = _LONG_POLL_SECONDS
    ) -> None:
        self._long_poll_seconds = long_poll_seconds
        self.source = source
        self._function = function
        self._stop = stop
        self._sqs: Any = boto3.client("sqs", region_name=REGION)
        concurrency = max(1, source.maximum_concurrency)
        # Each concurrent invocation needs an instance of its own.
        function.max_instances = max(function.max_instances, concurrency)
        self._invocations = threading.BoundedSemaphore(concurrency)
        self._running: set[threading.Thread] = set()
        self._running_lock = threading.Lock()
        self._pollers = [
            threading.Thread(target=self._run, name=f"sqs-{source.function}-{n}", daemon=True)
            for n in range(min(_POLLERS, concurrency))
        ]

    @property
    def threads(self) -> list[threading.Thread]:
        """The pollers and the invocations running now: what stopping waits for."""
        with self._running_lock:
            return [*self._pollers, *self._running]

    def start(self) -> None:
        for thread in self._pollers:
            thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._invocations.acquire(timeout=0.5):  # every invocation allowed is running: read nothing
                continue
            handed = False
            try:
                batch = self._receive()
                if batch:
                    invocation = threading.Thread(
                        target=self._invoke, args=(batch,), name=f"sqs-{self.source.function}-batch", daemon=True
                    )
                    with self._running_lock:
                        self._running.add(invocation)
                    invocation.start()
                    handed = True
            except Exception:  # a poller must outlive a bad batch, as the managed mapping does
                log.exception("SQS poller for %s", self.source.function)
                self._stop.wait(1)
            finally:
                if not handed:
                    self._invocations.release()

    def _invoke(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.handle(batch)
        except Exception:
            log.exception("SQS poller for %s", self.source.function)
        finally:
            with self._running_lock:
                self._running.discard(threading.current_thread())
            self._invocations.release()

    def _receive(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        wait = self._long_poll_seconds
        while len(batch) < self.source.batch_size and not self._stop.is_set():
            answer = self._sqs.receive_message(
                QueueUrl=self.source.queue_url,
                WaitTimeSeconds=wait,
                MaxNumberOfMessages=min(_SQS_RECEIVE_LIMIT, self.source.batch_size - len(batch)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            batch.extend(messages)
            wait = 0  # top the batch up with what is already there, never wait for more
        return batch

    def handle(self, batch: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        try:
            result = self._function.invoke(sqs_event(batch, self.source.queue_arn))
        except FunctionError as error:
            log.warning(
                "SQS %s: %d messages, %s failed: %s",
                self.source.queue_url.rsplit("/", 1)[-1],
                len(batch),
                self.source.function,
                error,
            )
            return
        kept = self._failed_items(result, {m["MessageId"] for m in batch})
        done = [m for m in batch if m["MessageId"] not in kept]
        for start in range(0, len(done), _SQS_RECEIVE_LIMIT):
            self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[start : start + 10])
                ],
            )
        log.info(
            "SQS %s %d messages %d failed %.1fms %s",
            self.source.queue_url.rsplit("/", 1)[-1],
            len(batch),
            len(kept),
            (time.perf_counter() - started) * 1000,
            self.source.function,
        )

    def _failed_items(self, result: Any, ids: set[str]) -> set[str]:
        if not self.source.report_batch_item_failures or not isinstance(result, dict):
            return set()
        named = {str(item.get("itemIdentifier", "")) for item in result.get("batchItemFailures") or []}
        # Lambda treats a response naming an item that is not in the batch as the whole batch failing.
        return named if named <= ids else ids


class Scheduler:
    """Fires each `rate(...)` schedule of the template on a timer (first fire after one period, as EventBridge)."""

    def __init__(
        self, schedule: Schedule, function: Function, stop: threading.Event, log_line: Callable[[str], None]
    ) -> None:
        self.schedule = schedule
        self._function = function
        self._stop = stop
        self._log_line = log_line
        self.thread = threading.Thread(target=self._run, name=f"schedule-{schedule.function}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        period = self.schedule.period_seconds or 0
        while not self._stop.wait(period):
            self.fire()

    def fire(self) -> Any:
        event = self.schedule.input if self.schedule.input is not None else scheduled_event(self.schedule.name)
        started = time.perf_counter()
        try:
            answer = self._function.invoke(event)
        except FunctionError as error:
            self._log_line(f"SCHEDULE {self.schedule.expression} failed {self.schedule.function}: {error}")
            return None
        self._log_line(
            f"SCHEDULE {self.schedule.expression} ok {(time.perf_counter() - started) * 1000:.1f}ms "
            f"{self.schedule.function} {json.dumps(answer)[:200]}"
        )
        return answer


class EventSources:
    """Every SQS mapping and rate schedule of the stack, started and stopped together."""

    def __init__(
        self, stack: LocalStack, log_line: Callable[[str], None], *, long_poll_seconds: int = _LONG_POLL_SECONDS
    ) -> None:
        self._stop = threading.Event()
        self.pollers = [
            SqsPoller(source, stack.functions[source.function], self._stop, long_poll_seconds)
            for source in stack.sqs_sources()
        ]
        self.schedulers = []
        for schedule in stack.schedules():
            if schedule.period_seconds is None:
                log_line(
                    f"schedule {schedule.expression} of {schedule.function} is not fired locally "
                    f"(only rate(...) is); run it with: pollgate local invoke {schedule.function}"
                )
                continue
            self.schedulers.append(Scheduler(schedule, stack.functions[schedule.function], self._stop, log_line))

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()
        for scheduler in self.schedulers:
            scheduler.start()

    def stop(self, timeout: float = 3.0, *, wake: Callable[[], None] | None = None) -> None:
        """`wake`: what makes the long polls in flight answer now (the runtime's services offer it)."""
        self._stop.set()
        if wake is not None:
            wake()
        deadline = time.monotonic() + timeout
        threads = [t for p in self.pollers for t in p.threads] + [s.thread for s in self.schedulers]
        for thread in threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
