"""The webhook engine: 1,000 deliveries to a loopback receiver that answers in 100 ms; and on the local runtime,
how long a queued delivery waits for its first attempt (p50/p99), with slow receivers in the same batches.

The issue that set this bench ran at most 10 delivery functions (then WebhookMaxConcurrency's default), each
POSTing its batch of up to 10 side by side. Here 10 worker threads play those functions, each taking batches
of 10 from the queue and calling the same `process_delivery_batch` the function calls: real engine, real
signing, SSRF guard and HTTP, the real partial-batch answer. The issue's ideal is 1,000 x 0.1 s / 10
functions = 10 s, which assumes 10 POSTs in flight. Each batch has a pool of its own (as each function has on
AWS), so up to 100 are in flight and the run can beat that ideal.

The store and the queue are where a laptop differs from AWS. moto costs ~10 ms of CPU per call here and
deep-copies the whole table before every transaction, so 1,000 deliveries on moto measure moto, not the
engine. So the 1,000 run keeps deliveries in memory (a DeliveryStore with the same conditional semantics)
and a Python queue; a smaller run on moto (DynamoDB + SQS) shows the end-to-end cost with the real store.
Everything is on loopback; every loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DELIVERIES = 1000
MOTO_DELIVERIES = 100
RECEIVER_SECONDS = 0.1
FUNCTIONS = 10  # the delivery functions (WebhookMaxConcurrency's default was 10 then)
BATCH = 10  # the template's BatchSize
DEADLINE_SECONDS = 120.0


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(RECEIVER_SECONDS)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default listen backlog (5) drops connects, which then wait 1 s to retry


def _environment() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TABLE_NAME": "pollgate-bench-webhooks",
            "WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "1",
        }
    )


def _memory_store() -> Any:
    """DeliveryStore's contract in memory: the same claims, leases and conditional moves, under one lock."""
    from pollgate.webhooks.store import Delivery, DeliveryStore

    class MemoryStore(DeliveryStore):
        def __init__(self) -> None:
            self.items: dict[str, Delivery] = {}
            self.tokens: dict[str, str] = {}
            self.lock = threading.Lock()
            self.attempt_records: list[Any] = []

        def create(
            self,
            ref: Any,
            *,
            event_type: str,
            target: Any,
            body: bytes,
            schedule: Any,
            due_at: float,
            resent_from: str | None = None,
            message_id: str = "",
            subject: str = "",
        ) -> Delivery:
            delivery = Delivery(
                ref=ref,
                event_type=event_type,
                target=target,
                inline_body=zlib.compress(body),
                schedule=schedule,
                attempts=0,
                state="scheduled",
                next_attempt_at=time.time(),
                created_at="",
                resent_from=resent_from,
                message_id=message_id,
                subject=subject,
            )
            with self.lock:
                self.items[ref.delivery_id] = delivery
            return delivery

        def get(self, ref: Any, *, consistent: bool = True) -> Delivery | None:
            return self.items.get(ref.delivery_id)

        def claim(self, delivery: Delivery, *, lease_seconds: float, grace_seconds: float) -> str | None:
            with self.lock:
                now = self.items[delivery.ref.delivery_id]
                if now.final or now.attempts != delivery.attempts or now.leased(time.time()):
                    return None
                token = uuid.uuid4().hex
                self.items[delivery.ref.delivery_id] = dataclasses.replace(now, lease_until=time.time() + lease_seconds)
                self.tokens[delivery.ref.delivery_id] = token
                return token

        def add_attempt(self, delivery: Delivery, record: Any) -> None:
            with self.lock:
                self.attempt_records.append(record)

        def move_on(
            self,
            delivery: Delivery,
            token: str,
            attempt: int,
            *,
            state: Any,
            next_attempt_at: float | None,
            due_at: float,
            outcome: Any,
            handled: bool,
        ) -> bool:
            with self.lock:
                if self.tokens.pop(delivery.ref.delivery_id, None) != token:
                    return False
                now = self.items[delivery.ref.delivery_id]
                self.items[delivery.ref.delivery_id] = dataclasses.replace(
                    now,
                    attempts=attempt,
                    state=state,
                    next_attempt_at=next_attempt_at,
                    lease_until=None,
                    last_outcome=dict(outcome),
                    outcome_handled=attempt if handled else now.outcome_handled,
                )
            return True

        def failing_since(self, ref: Any) -> float | None:
            return None  # the receiver always answers 200: the endpoint is healthy, nothing is written

        def note_success(self, ref: Any) -> None:
            pass

        def mark_handled(self, delivery: Delivery, attempt: int) -> None:
            with self.lock:
                now = self.items[delivery.ref.delivery_id]
                self.items[delivery.ref.delivery_id] = dataclasses.replace(now, outcome_handled=attempt)

    return MemoryStore()


def _drain(
    receive: Callable[[], list[dict[str, Any]]], done: Callable[[], bool], delete: Callable[[dict[str, Any]], None]
) -> float:
    """FUNCTIONS threads, each a delivery function taking batches until every delivery is done; wall seconds."""
    from pollgate.webhooks import process_delivery_batch
    from pollgate_local.events import sqs_event

    deadline = time.monotonic() + DEADLINE_SECONDS

    def function() -> None:
        while not done() and time.monotonic() < deadline:
            messages = receive()
            if not messages:
                time.sleep(0.005)
                continue
            event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:bench")
            failed = {f["itemIdentifier"] for f in process_delivery_batch(event)["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    delete(message)

    started = time.perf_counter()
    threads = [threading.Thread(target=function) for _ in range(FUNCTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_SECONDS + 5)
    return time.perf_counter() - started


@contextlib.contextmanager
def in_memory_engine(batch: int) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The webhook engine on an in-memory store and queue while the block runs; yields the queue's receive (at most
    `batch` messages at a time, as an SQS event source batches them)."""
    from pollgate.webhooks import engine
    from pollgate.webhooks.engine import DeliveryMessage

    store = _memory_store()
    messages: queue.Queue[dict[str, Any]] = queue.Queue()

    def send_to_queue(ref: Any, *, attempt: int, delay: float) -> bool:
        messages.put(
            {"MessageId": uuid.uuid4().hex, "ReceiptHandle": "", "Body": DeliveryMessage(ref, attempt).to_json()}
        )
        return True

    def receive() -> list[dict[str, Any]]:
        taken: list[dict[str, Any]] = []
        while len(taken) < batch:
            try:
                taken.append(messages.get_nowait())
            except queue.Empty:
                break
        return taken

    saved = {name: getattr(engine, name) for name in ("send_to_queue", "DeliveryStore")}
    setattr(engine, "send_to_queue", send_to_queue)  # noqa: B010 - swapping the module's queue for the run
    setattr(engine, "DeliveryStore", lambda table=None: store)  # noqa: B010
    try:
        yield receive
    finally:
        for name, value in saved.items():
            setattr(engine, name, value)


def _in_memory_run(url: str, succeeded: list[Any]) -> float:
    from pollgate.webhooks import WebhookTarget, enqueue_delivery, new_signing_secret

    with in_memory_engine(BATCH) as receive:
        target = WebhookTarget(url, new_signing_secret())
        for n in range(DELIVERIES):
            enqueue_delivery(
                owner_kind="bench",
                owner_id=f"sub-{n}",
                tenant="bench",
                target=target,
                payload={"n": n, "results": [{"id": f"i-{n}"}]},
                event_type="bench",
            )
        return _drain(receive, lambda: len(succeeded) >= DELIVERIES, lambda message: None)


def _moto_run(url: str, succeeded: list[Any]) -> float:
    import boto3
    from moto import mock_aws
    from pollgate import aws, settings
    from pollgate.webhooks import WebhookTarget, enqueue_delivery, new_signing_secret

    from tests.aws_fixtures import create_table

    with mock_aws():
        create_table(os.environ["TABLE_NAME"])
        queue_url = boto3.client("sqs").create_queue(QueueName="bench")["QueueUrl"]
        os.environ["WEBHOOK_QUEUE_URL"] = queue_url
        settings.reset_settings()
        aws.reset_clients()
        # moto's DynamoDB is not safe under concurrent writes (it deep-copies a table others are writing).
        lock = threading.Lock()
        client = aws.dynamodb()
        for name in ("get_item", "put_item", "update_item", "transact_write_items", "query"):
            call = getattr(client, name)
            setattr(client, name, lambda *a, _call=call, **k: _locked(lock, _call, *a, **k))
        sqs = aws.client("sqs")
        target = WebhookTarget(url, new_signing_secret())
        for n in range(MOTO_DELIVERIES):
            enqueue_delivery(
                owner_kind="bench",
                owner_id=f"sub-{n}",
                tenant="bench",
                target=target,
                payload={"n": n},
                event_type="bench",
            )
        return _drain(
            lambda: sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=BATCH, VisibilityTimeout=60).get(
                "Messages", []
            ),
            lambda: len(succeeded) >= MOTO_DELIVERIES,
            lambda message: sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]),
        )


def _locked(lock: threading.Lock, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with lock:
        return call(*args, **kwargs)


# Queue to first attempt on the local runtime (`pollgate run`: its SQS poller, delivery function and retrier), at
# the template's WebhookMaxConcurrency and, side by side, at the 10 it was until a batch holding one slow
# receiver was shown to hold up every delivery behind it (head-of-line: 10 functions x 1 batch per 8 s).
FORMER_MAX_CONCURRENCY = 10
FIRST_ATTEMPT_DELIVERIES = 200
FIRST_ATTEMPT_BURST = 20  # enqueued at once, every BURST_PAUSE_SECONDS
BURST_PAUSE_SECONDS = 0.5
SLOW_EVERY = 10  # every 10th receiver answers only after SLOW_SECONDS: batches of slow and fast side by side
SLOW_SECONDS = 8.0
FIRST_ATTEMPT_DEADLINE_SECONDS = 180.0


def _transactions_until(table: str, stop: threading.Event) -> None:
    """Two-item transactions on the runtime's table, back to back, until `stop` (bounded: at most 5,000)."""
    from pollgate import aws

    client = aws.dynamodb()
    for n in range(5000):
        if stop.is_set():
            return
        try:
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": {"pk": {"S": f"BENCH#{n}"}, "sk": {"S": side}}}}
                    for side in ("A", "B")
                ]
            )
        except Exception:  # the neighbour's own failures are not what is measured
            time.sleep(0.05)


def _first_attempt_delays(*runtime_arguments: str) -> list[float]:
    """Seconds from enqueue to the receiver's first sight of each delivery, through `pollgate run`."""
    from pollgate import aws, settings
    from pollgate.webhooks import WebhookTarget, enqueue_delivery, new_signing_secret
    from pollgate_local.process import RuntimeProcess

    arrived: dict[str, float] = {}
    lock = threading.Lock()

    class FirstSight(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            seen = time.time()
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                arrived.setdefault(self.headers.get("webhook-id", ""), seen)
            if self.path.startswith("/slow"):
                time.sleep(SLOW_SECONDS)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), FirstSight)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    saved = dict(os.environ)
    enqueued: dict[str, float] = {}
    try:
        with RuntimeProcess("--no-demo", *runtime_arguments) as runtime:
            table = runtime.wait_for("table          Table:").rsplit(": ", 1)[1]
            queue_url = runtime.wait_for("queue          WebhookQueue:").rsplit(": ", 1)[1]
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{runtime.aws_port}",
                    "TABLE_NAME": table,
                    "WEBHOOK_QUEUE_URL": queue_url,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "POWERTOOLS_LOG_LEVEL": "WARNING",
                }
            )
            settings.reset_settings()
            aws.reset_clients()
            secret = new_signing_secret()
            port = server.server_address[1]
            # Other work on the stack meanwhile, as a real one has: transactions (subscriptions being created),
            # which moto applies by copying the table while the delivery function's threads write it.
            busy = threading.Event()
            neighbour = threading.Thread(target=_transactions_until, args=(table, busy), daemon=True)
            neighbour.start()
            for n in range(FIRST_ATTEMPT_DELIVERIES):
                path = "/slow" if n % SLOW_EVERY == 0 else "/fast"
                target = WebhookTarget(f"http://127.0.0.1:{port}{path}", secret)
                at = time.time()
                delivery_id = enqueue_delivery(
                    owner_kind="bench.firstAttempt",
                    owner_id=f"sub-{n}",
                    tenant="bench",
                    target=target,
                    payload={"n": n},
                    event_type="bench",
                )
                enqueued[delivery_id] = at
                if n % FIRST_ATTEMPT_BURST == FIRST_ATTEMPT_BURST - 1:
                    time.sleep(BURST_PAUSE_SECONDS)
            deadline = time.monotonic() + FIRST_ATTEMPT_DEADLINE_SECONDS
            while time.monotonic() < deadline:
                with lock:
                    if len(arrived.keys() & enqueued.keys()) >= len(enqueued):
                        break
                time.sleep(0.2)
            busy.set()
            neighbour.join(10)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        settings.reset_settings()
        aws.reset_clients()
        server.shutdown()
        server.server_close()
    missing = len(enqueued.keys() - arrived.keys())
    if missing:
        raise RuntimeError(
            f"{missing} of {len(enqueued)} deliveries never arrived within {FIRST_ATTEMPT_DEADLINE_SECONDS:g} s"
        )
    return [arrived[delivery_id] - at for delivery_id, at in enqueued.items()]


def run() -> dict[str, Any]:
    from bench.bench_densify import delivery_settings
    from bench.figures import Figure, percentile

    delays = _first_attempt_delays()
    former = _first_attempt_delays("--parameter-overrides", f"WebhookMaxConcurrency={FORMER_MAX_CONCURRENCY}")
    first_attempt = {
        "webhooks.local_max_concurrency": Figure(delivery_settings()[0], "functions", ""),
        "webhooks.local_first_attempt_p50_s": Figure(round(percentile(delays, 0.5), 3), "s", ""),
        "webhooks.local_first_attempt_p99_s": Figure(round(percentile(delays, 0.99), 3), "s", "<= 5"),
        "webhooks.local_first_attempt_max_s": Figure(round(max(delays), 3), "s", ""),
        f"webhooks.local_first_attempt_p50_s_at_{FORMER_MAX_CONCURRENCY}": Figure(
            round(percentile(former, 0.5), 3), "s", ""
        ),
        f"webhooks.local_first_attempt_p99_s_at_{FORMER_MAX_CONCURRENCY}": Figure(
            round(percentile(former, 0.99), 3), "s", ""
        ),
    }
    return {**_engine_run(), **first_attempt}


def _engine_run() -> dict[str, Any]:
    _environment()
    from pollgate.webhooks import DeliveryOutcome, register_outcome_handler

    from bench.figures import Figure

    receiver = _Server(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    succeeded: list[DeliveryOutcome] = []
    register_outcome_handler("bench", lambda outcome: succeeded.append(outcome) if outcome.succeeded else None)
    try:
        wall = _in_memory_run(url, succeeded)
        if len(succeeded) < DELIVERIES:
            raise RuntimeError(f"only {len(succeeded)} of {DELIVERIES} deliveries succeeded")
        succeeded.clear()
        moto_wall = _moto_run(url, succeeded)
        if len(succeeded) < MOTO_DELIVERIES:
            raise RuntimeError(f"only {len(succeeded)} of {MOTO_DELIVERIES} deliveries succeeded on moto")
    finally:
        receiver.shutdown()
        receiver.server_close()
    ideal = DELIVERIES * RECEIVER_SECONDS / FUNCTIONS
    return {
        "webhooks.deliver_1000_wall_s": Figure(round(wall, 2), "s", ""),
        "webhooks.deliver_1000_ratio_to_ideal": Figure(round(wall / ideal, 2), "x", "<= 2"),
        "webhooks.moto_deliver_100_wall_s": Figure(round(moto_wall, 2), "s", ""),
        "webhooks.moto_ms_per_delivery": Figure(round(moto_wall * 1000 / MOTO_DELIVERIES, 1), "ms", ""),
    }
