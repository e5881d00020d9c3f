"""The webhook engine on moto (DynamoDB + SQS) against real receivers on loopback.

enqueue -> SQS batch -> attempt recorded -> retry scheduled -> outcome handler called; resend; crashes.
Time is moved with pollgate.clock.frozen; queue delays are recorded (moto would hold messages for real seconds)
and the messages themselves stay receivable at once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import standardwebhooks
from moto import mock_aws
from pollgate import aws, clock
from pollgate.settings import reset_settings
from pollgate.store import Table, due_partition
from pollgate.webhooks import (
    DeliveryOutcome,
    OutcomeHandlerFailed,
    PayloadTooLarge,
    RetrySchedule,
    WebhookTarget,
    enqueue_delivery,
    list_attempts,
    new_signing_secret,
    process_delivery_batch,
    register_outcome_handler,
    requeue_due_deliveries,
    resend_delivery,
)
from pollgate.webhooks import engine as engine_module
from pollgate.webhooks.engine import LEASE_SECONDS, DeliveryMessage, handle_message
from pollgate.webhooks.store import DeliveryRef, DeliveryStore
from pollgate_local.events import sqs_event
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bench import cost
from tests.aws_fixtures import create_table
from tests.fault_injection import serialise_dynamodb_calls

OWNER = "test.subscription"
T0 = 1_795_000_000.0
SECRET = new_signing_secret()


@dataclass
class Queue:
    url: str
    sent_delays: list[float] = field(default_factory=list)

    def batch(self) -> dict[str, Any]:
        """Every message now on the queue as one SQS event (deleted from the queue, as a consumer would)."""
        sqs = boto3.client("sqs")
        received: list[Mapping[str, Any]] = []
        for _ in range(20):  # bounded: at most 200 messages per call
            answer = sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            received.extend(messages)
        return sqs_event(received, "arn:aws:sqs:us-east-1:123456789012:webhooks")

    def attempts_queued(self) -> list[int]:
        return [DeliveryMessage.from_json(r["body"]).attempt for r in self.batch()["Records"]]


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[Queue]:
    with mock_aws():
        create_table(os.environ["TABLE_NAME"])
        url = boto3.client("sqs").create_queue(QueueName="webhooks")["QueueUrl"]
        monkeypatch.setenv("WEBHOOK_QUEUE_URL", url)
        monkeypatch.setenv("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
        monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "1")
        reset_settings()
        recorded = Queue(url)
        sqs = aws.client("sqs")
        real_send = sqs.send_message

        def send_at_once(**kwargs: Any) -> Any:
            recorded.sent_delays.append(kwargs.get("DelaySeconds", 0))
            return real_send(**{**kwargs, "DelaySeconds": 0})

        monkeypatch.setattr(sqs, "send_message", send_at_once)
        yield recorded


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4  # pytest-httpserver's shared server on 127.0.0.1, cleared before each test


@pytest.fixture
def outcomes() -> Iterator[list[DeliveryOutcome]]:
    seen: list[DeliveryOutcome] = []
    register_outcome_handler(OWNER, seen.append)
    yield seen
    engine_module._HANDLERS.pop(OWNER, None)


def hook(server: HTTPServer, path: str = "/hook") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


FIVE_SECONDS_THEN_FIVE_MINUTES = RetrySchedule((5, 300), jitter=0.0)


def enqueue(url: str, schedule: RetrySchedule = FIVE_SECONDS_THEN_FIVE_MINUTES, **payload: Any) -> str:
    return enqueue_delivery(
        owner_kind=OWNER,
        owner_id="sub-1",
        tenant="acme",
        target=WebhookTarget(url, SECRET, ("Authorization", "Bearer t")),
        payload=payload or {"count": 1},
        event_type="subscription.results",
        schedule=schedule,
    )


def stored(delivery_id: str) -> Any:
    delivery = DeliveryStore().get(DeliveryRef(OWNER, "acme", "sub-1", delivery_id))
    assert delivery is not None
    return delivery


def test_a_failed_attempt_is_recorded_retried_and_then_succeeds(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("boom", status=500)
    receiver.expect_ordered_request("/hook").respond_with_data("thanks", status=200)
    with clock.frozen(T0) as advance:
        delivery_id = enqueue(hook(receiver))
        assert process_delivery_batch(queue.batch()) == {"batchItemFailures": []}
        assert [(o.attempt, o.succeeded, o.final, o.status_code) for o in outcomes] == [(1, False, False, 500)]
        assert queue.sent_delays == [0, 5]
        advance(5)
        process_delivery_batch(queue.batch())
    assert [(o.attempt, o.succeeded, o.final) for o in outcomes] == [(1, False, False), (2, True, True)]
    first, second = receiver.log[0][0], receiver.log[1][0]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery_id
    assert first.headers["Authorization"] == "Bearer t"
    attempts = list_attempts(OWNER, "sub-1", "acme")
    assert [(a.attempt, a.statusCode, a.responseBody, a.final) for a in attempts] == [
        (2, 200, "thanks", True),
        (1, 500, "boom", False),
    ]
    assert attempts[1].nextAttemptAt == clock.iso(T0 + 5) and attempts[1].url == hook(receiver)
    assert attempts[0].nextAttemptAt is None and attempts[0].durationMs >= 0
    assert stored(delivery_id).state == "succeeded" and stored(delivery_id).due_at is None
    assert queue.attempts_queued() == []


def test_the_receiver_can_verify_every_attempt(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    verified: list[Any] = []

    def verify(request: Request) -> Response:
        verified.append(standardwebhooks.Webhook(SECRET).verify(request.get_data(), dict(request.headers)))
        return Response("", status=204)

    receiver.expect_request("/hook").respond_with_handler(verify)
    enqueue(hook(receiver), results=[{"id": "i-1", "name": "caf\u00e9"}])
    process_delivery_batch(queue.batch())
    assert verified == [{"results": [{"id": "i-1", "name": "caf\u00e9"}]}]
    assert outcomes[0].succeeded


def test_410_is_final_and_tells_the_owner_the_webhook_is_gone(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_request("/hook").respond_with_data("unsubscribed", status=410)
    enqueue(hook(receiver))
    process_delivery_batch(queue.batch())
    assert [(o.gone, o.final, o.succeeded, o.status_code) for o in outcomes] == [(True, True, False, 410)]
    assert queue.attempts_queued() == []


def test_retries_stop_when_the_schedule_is_exhausted(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=301, headers={"Location": "http://10.0.0.1/"})
    with clock.frozen(T0) as advance:
        delivery_id = enqueue(hook(receiver), RetrySchedule((5, 5), jitter=0.0))
        for _ in range(3):
            process_delivery_batch(queue.batch())
            advance(6)
        assert queue.attempts_queued() == []
    assert [(o.attempt, o.final, o.error) for o in outcomes] == [
        (1, False, "redirect not followed (Location: http://10.0.0.1/)"),
        (2, False, "redirect not followed (Location: http://10.0.0.1/)"),
        (3, True, "redirect not followed (Location: http://10.0.0.1/)"),
    ]
    assert stored(delivery_id).state == "failed"
    assert len(receiver.log) == 3  # the redirect was never followed


def test_retry_after_is_honoured_within_bounds(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("", status=429, headers={"Retry-After": "120"})
    receiver.expect_ordered_request("/hook").respond_with_data("", status=503, headers={"Retry-After": "999999"})
    with clock.frozen(T0) as advance:
        enqueue(hook(receiver), RetrySchedule((5, 5, 5), jitter=0.0))
        process_delivery_batch(queue.batch())
        assert outcomes[-1].next_attempt_at == clock.iso(T0 + 120)  # later than our 5 s, as asked
        advance(120)
        process_delivery_batch(queue.batch())
        assert outcomes[-1].next_attempt_at == clock.iso(T0 + 120 + 3600)  # an absurd ask is cut to an hour
    assert queue.sent_delays == [0, 120]  # an hour is past SQS's 15 minutes: the due index holds that one


def test_a_long_retry_waits_in_the_due_index_for_the_retrier(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("", status=500)
    receiver.expect_ordered_request("/hook").respond_with_data("", status=200)
    with clock.frozen(T0) as advance:
        enqueue(hook(receiver), RetrySchedule((1800,), jitter=0.0))
        process_delivery_batch(queue.batch())
        assert queue.attempts_queued() == []  # 30 minutes is past SQS's delay limit: nothing queued
        advance(1799)
        assert requeue_due_deliveries().requeued == 0
        advance(1)
        assert requeue_due_deliveries().requeued == 1
        assert requeue_due_deliveries().requeued == 0  # postponed: queued once
        process_delivery_batch(queue.batch())
    assert [(o.attempt, o.succeeded) for o in outcomes] == [(1, False), (2, True)]


def test_a_refused_url_is_recorded_and_final_without_a_connection(
    queue: Queue, outcomes: list[DeliveryOutcome]
) -> None:
    enqueue("http://169.254.169.254/latest/meta-data/")
    process_delivery_batch(queue.batch())
    assert len(outcomes) == 1 and outcomes[0].final and not outcomes[0].succeeded
    assert outcomes[0].error is not None and outcomes[0].error.startswith("refused: ")
    assert list_attempts(OWNER, "sub-1", "acme")[0].error == outcomes[0].error


def test_resend_makes_a_new_delivery_of_the_same_payload_with_the_same_webhook_id(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("", status=410)
    receiver.expect_ordered_request("/hook").respond_with_data("", status=200)
    first = enqueue(hook(receiver), count=3, results=[1, 2, 3])
    process_delivery_batch(queue.batch())
    second = resend_delivery(OWNER, "sub-1", "acme", first)
    process_delivery_batch(queue.batch())
    assert second != first
    bodies = [request.get_data() for request, _ in receiver.log]
    assert bodies[0] == bodies[1] and json.loads(bodies[1]) == {"count": 3, "results": [1, 2, 3]}
    # Receivers de-duplicate on webhook-id: a re-send keeps the original's (Svix keeps the message id too).
    assert [request.headers["webhook-id"] for request, _ in receiver.log] == [first, first]
    assert stored(second).resent_from == first
    attempts = list_attempts(OWNER, "sub-1", "acme")
    assert [(a.deliveryId, a.webhookId, a.resentFrom) for a in attempts] == [
        (second, first, first),
        (first, first, None),
    ]
    third = resend_delivery(OWNER, "sub-1", "acme", second)  # a re-send of a re-send: still the first id
    process_delivery_batch(queue.batch())
    assert receiver.log[-1][0].headers["webhook-id"] == first and stored(third).resent_from == second
    with pytest.raises(LookupError):
        resend_delivery(OWNER, "sub-1", "acme", "msg_unknown")


def test_a_crash_mid_attempt_leaves_the_delivery_due_and_nothing_runs_twice(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.expect_request("/hook").respond_with_data("ok")

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("the function died mid-attempt")

    with clock.frozen(T0) as advance:
        delivery_id = enqueue(hook(receiver))
        event = queue.batch()
        with monkeypatch.context() as patched:
            patched.setattr(engine_module, "deliver_once", crash)
            answer = process_delivery_batch(event)
        assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
        assert outcomes == [] and list_attempts(OWNER, "sub-1", "acme") == []
        # SQS redelivers the message while the dead attempt's lease holds: nobody makes the attempt twice.
        assert process_delivery_batch(event) == {"batchItemFailures": []}
        assert receiver.log == []
        # The message is gone for good (say it reached the DLQ): the due index still holds the delivery.
        advance(LEASE_SECONDS - 1)
        assert requeue_due_deliveries().requeued == 0
        advance(engine_module.DUE_GRACE_SECONDS + 2)
        assert requeue_due_deliveries().requeued == 1
        process_delivery_batch(queue.batch())
    assert [(o.attempt, o.succeeded) for o in outcomes] == [(1, True)]
    assert len(receiver.log) == 1 and stored(delivery_id).state == "succeeded"


@contextlib.contextmanager
def dynamodb_writes() -> Iterator[list[tuple[str, float]]]:
    """(operation, write units) of every DynamoDB write, priced as `make cost` prices it (per started KB of the
    item written, transactions double, +1 for a `due` index entry)."""
    writes: list[tuple[str, float]] = []
    events = aws.dynamodb().meta.events
    # bench.cost's own recorder: each write bracketed by reads of the items it touches, sized by DynamoDB's rules.
    recorder = cost.Recorder(reader=boto3.client("dynamodb"))
    indexes = cost.table_indexes()
    before_parameters = recorder.before_parameters
    before_call = recorder.before_call

    def after_call(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        recorder.after_call(model=model, parsed=parsed, context=context)
        if recorder.calls:
            units = cost.dynamodb_units(recorder.calls.pop(), indexes)[0]
            if units:
                writes.append((model.name, units))

    events.register("before-parameter-build.dynamodb", before_parameters)
    events.register("before-call.dynamodb", before_call)
    events.register("after-call.dynamodb", after_call)
    try:
        yield writes
    finally:
        events.unregister("before-parameter-build.dynamodb", before_parameters)
        events.unregister("before-call.dynamodb", before_call)
        events.unregister("after-call.dynamodb", after_call)


def test_the_payload_is_written_once_and_every_state_change_writes_a_small_item(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("", status=500)
    receiver.expect_ordered_request("/hook").respond_with_data("", status=200)
    blob = base64.b64encode(os.urandom(6_000)).decode()  # 8 KB of base64, stored in 6-7 KB: that many units a copy
    with clock.frozen(T0) as advance, dynamodb_writes() as writes:
        enqueue(hook(receiver), blob=blob)
        at_enqueue = list(writes)
        writes.clear()
        process_delivery_batch(queue.batch())
        advance(5)
        process_delivery_batch(queue.batch())
    assert [(o.attempt, o.succeeded) for o in outcomes] == [(1, False), (2, True)]
    # The payload once, then the small state item with its `due` index entry.
    [(_, content_units), state_put] = at_enqueue
    assert content_units >= 6 and state_put == ("PutItem", 2)
    # Per attempt: the claim (no index write when on time), the attempt's record, and one move of the delivery
    # (outcome, next time or out of the index, handler done). No transactions, no payload rewritten. The endpoint's
    # health is written only when it changes: here the first failure, then the success after it. The failed
    # attempt's move changes the `due` entry (the index deletes the old one and puts the new: 2 units); the
    # success takes the delivery out of the index (1).
    assert writes == [
        *[("UpdateItem", 1), ("UpdateItem", 1), ("PutItem", 1), ("UpdateItem", 3)],
        *[("UpdateItem", 1), ("UpdateItem", 1), ("PutItem", 1), ("UpdateItem", 2)],
    ]


def test_a_delivery_stored_as_one_item_before_the_content_split_is_still_delivered(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    """Deliveries in flight across the deploy that split content from state are neither lost nor stuck."""
    receiver.expect_request("/hook").respond_with_data("", status=200)
    ref = DeliveryRef(OWNER, "acme", "sub-1", "msg_" + "0" * 32)
    now = clock.epoch()
    Table().put(
        ref.key,
        {
            "deliveryId": ref.delivery_id,
            "ownerKind": OWNER,
            "tenant": "acme",
            "ownerId": "sub-1",
            "eventType": "subscription.results",
            "url": hook(receiver),
            "secret": SECRET,
            "authHeader": None,
            "body": zlib.compress(b'{"count":1}'),
            "payloadKey": None,
            "delays": [5],
            "jitter": 0,
            "attempts": 0,
            "state": "scheduled",
            "nextAttemptAt": now,
            "createdAt": clock.iso(now),
            "resentFrom": None,
            "duePk": due_partition("WEBHOOK", ref.delivery_id),
            "dueAt": clock.iso(now + 120),
        },
    )
    outcome = handle_message(DeliveryMessage(ref, 1))
    assert outcome is not None and outcome.succeeded and outcome.event_type == "subscription.results"
    assert receiver.log[0][0].get_data() == b'{"count":1}'
    assert stored(ref.delivery_id).state == "succeeded" and stored(ref.delivery_id).due_at is None
    assert [(o.attempt, o.succeeded) for o in outcomes] == [(1, True)]


def test_a_duplicate_message_never_makes_a_second_post(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=500)
    enqueue(hook(receiver))
    event = queue.batch()
    process_delivery_batch(event)
    process_delivery_batch(event)  # SQS is at-least-once
    assert len(receiver.log) == 1 and len(outcomes) == 1


def test_a_handler_still_owed_an_outcome_gets_it_from_the_retrier(queue: Queue, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=200)

    def broken(outcome: DeliveryOutcome) -> None:
        raise RuntimeError("status table unavailable")

    register_outcome_handler(OWNER, broken)
    try:
        with clock.frozen(T0) as advance:
            delivery_id = enqueue(hook(receiver))
            message = DeliveryMessage.from_json(queue.batch()["Records"][0]["body"])
            with pytest.raises(OutcomeHandlerFailed):
                handle_message(message)
            seen: list[DeliveryOutcome] = []
            register_outcome_handler(OWNER, seen.append)
            advance(engine_module.DUE_GRACE_SECONDS + 1)  # the message is lost; the final delivery is still due
            assert requeue_due_deliveries().requeued == 1
            process_delivery_batch(queue.batch())
    finally:
        engine_module._HANDLERS.pop(OWNER, None)
    assert [(o.attempt, o.succeeded, o.final) for o in seen] == [(1, True, True)]
    assert len(receiver.log) == 1 and stored(delivery_id).due_at is None


def test_a_failing_handler_is_called_again_without_a_second_post(queue: Queue, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=410)
    calls: list[DeliveryOutcome] = []

    def flaky(outcome: DeliveryOutcome) -> None:
        calls.append(outcome)
        if len(calls) == 1:
            raise RuntimeError("could not deactivate the webhook just now")

    register_outcome_handler(OWNER, flaky)
    try:
        delivery_id = enqueue(hook(receiver))
        event = queue.batch()
        assert len(process_delivery_batch(event)["batchItemFailures"]) == 1
        assert stored(delivery_id).outcome_pending
        process_delivery_batch(event)  # the redelivered message hands the outcome over again
    finally:
        engine_module._HANDLERS.pop(OWNER, None)
    assert [(c.attempt, c.gone) for c in calls] == [(1, True), (1, True)]
    assert len(receiver.log) == 1
    assert stored(delivery_id).due_at is None and not stored(delivery_id).outcome_pending


class _GatheringServer(ThreadingHTTPServer):
    """Holds each POST until `expected` are in flight at once (or 3 s pass), and remembers the peak."""

    request_queue_size = 64  # the default listen backlog (5) would drop some of the batch's connects

    def __init__(self, expected: int) -> None:
        super().__init__(("127.0.0.1", 0), _GatheringHandler)
        self.gate = threading.Barrier(expected)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0


class _GatheringHandler(BaseHTTPRequestHandler):
    server: _GatheringServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.in_flight += 1
            self.server.peak = max(self.server.peak, self.server.in_flight)
        with contextlib.suppress(threading.BrokenBarrierError):
            self.server.gate.wait(timeout=3)
        with self.server.lock:
            self.server.in_flight -= 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_batch_is_delivered_side_by_side(
    queue: Queue, outcomes: list[DeliveryOutcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slow receiver does not hold up the rest of its batch: all 6 POSTs of a batch are in flight at once."""
    serialise_dynamodb_calls(monkeypatch)
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "10")  # each POST waits for the others; a shared machine is slow
    reset_settings()
    server = _GatheringServer(expected=6)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for _ in range(6):
            enqueue(f"http://127.0.0.1:{server.server_address[1]}/hook")
        assert process_delivery_batch(queue.batch()) == {"batchItemFailures": []}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)
    assert server.peak == 6
    assert len(outcomes) == 6 and all(o.succeeded for o in outcomes)


def test_the_stack_functions_deliver_and_retry(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome], function: Any
) -> None:
    """The delivery and retry functions, loaded as the stack loads them, drive the engine end to end."""
    receiver.expect_ordered_request("/hook").respond_with_data("", status=500)
    receiver.expect_ordered_request("/hook").respond_with_data("", status=200)
    enqueue(hook(receiver), RetrySchedule((0,), jitter=0.0))
    assert function("webhook_delivery")(queue.batch()) == {"batchItemFailures": []}
    queue.batch()  # the short retry's message is lost: only the due index knows the delivery now
    with clock.frozen(clock.epoch() + engine_module.DUE_GRACE_SECONDS + 1):
        assert function("webhook_retry")({}) == {"requeued": 1, "skipped": 0}
        function("webhook_delivery")(queue.batch())
    assert [(o.attempt, o.succeeded) for o in outcomes] == [(1, False), (2, True)]


def test_a_payload_too_large_for_an_item_travels_through_the_payload_bucket(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    noise = base64.b64encode(os.urandom(450_000)).decode()  # ~600 KB that does not compress
    with pytest.raises(PayloadTooLarge, match="no payload bucket"):
        enqueue(hook(receiver), blob=noise)
    boto3.client("s3").create_bucket(Bucket="webhook-payloads")
    monkeypatch.setenv("WEBHOOK_PAYLOAD_BUCKET", "webhook-payloads")
    # Two 600 KB POSTs side by side, each verified by the receiver: on a busy machine that takes longer than the
    # fixture's 1 s deadline (the first arrived, the other timed out and waited for its retry). What is tested
    # here is the payload's way through the bucket, so the deadline is production's.
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "15")
    reset_settings()
    received: list[Any] = []

    def verify(request: Request) -> Response:
        received.append(standardwebhooks.Webhook(SECRET).verify(request.get_data(), dict(request.headers)))
        return Response("", status=200)

    receiver.expect_request("/hook").respond_with_handler(verify)
    first = enqueue(hook(receiver), blob=noise)
    assert stored(first).payload_key is not None and stored(first).inline_body is None
    resend_delivery(OWNER, "sub-1", "acme", first)
    process_delivery_batch(queue.batch())
    # Every attempt's outcome, so that a failure says what happened (its error), not only that a POST is missing.
    assert [(o.attempt, o.status_code, o.error) for o in outcomes] == [(1, 200, None), (1, 200, None)]
    assert received == [{"blob": noise}, {"blob": noise}]


@pytest.mark.parametrize(
    ("secret", "auth", "payload"),
    [
        ("not-a-secret!", None, {"count": 1}),
        (SECRET, ("webhook-signature", "v1,forged"), {"count": 1}),
        (SECRET, ("Authorization", "Bearer x\r\nX-Injected: 1"), {"count": 1}),
        (SECRET, None, {"ratio": float("nan")}),
        (SECRET, None, {"when": object()}),
    ],
)
def test_a_delivery_that_could_never_be_sent_is_refused_at_enqueue(
    queue: Queue, secret: str, auth: tuple[str, str] | None, payload: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        enqueue_delivery(
            owner_kind=OWNER,
            owner_id="sub-1",
            tenant="acme",
            target=WebhookTarget("https://hooks.example.com/", secret, auth),
            payload=payload,
            event_type="subscription.results",
        )
    assert queue.attempts_queued() == [] and list_attempts(OWNER, "sub-1", "acme") == []


def test_a_message_that_comes_early_goes_back_to_wait(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=503)
    with clock.frozen(T0) as advance:
        enqueue(hook(receiver), RetrySchedule((300, 300), jitter=0.0))
        process_delivery_batch(queue.batch())
        advance(100)
        process_delivery_batch(queue.batch())  # attempt 2's message, 200 s before its time
        assert len(receiver.log) == 1
        assert queue.sent_delays == [0, 300, 200]
        advance(200)
        process_delivery_batch(queue.batch())
    assert [o.attempt for o in outcomes] == [1, 2] and len(receiver.log) == 2


def test_a_failing_handler_does_not_hold_back_the_next_attempt(queue: Queue, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=500)

    def broken(outcome: DeliveryOutcome) -> None:
        raise RuntimeError("status table unavailable")

    register_outcome_handler(OWNER, broken)
    try:
        enqueue(hook(receiver))
        assert len(process_delivery_batch(queue.batch())["batchItemFailures"]) == 1
    finally:
        engine_module._HANDLERS.pop(OWNER, None)
    assert queue.sent_delays == [0, 5] and queue.attempts_queued() == [2]


def test_the_retrier_gives_up_on_a_handler_that_fails_for_a_day(queue: Queue, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=200)

    def broken(outcome: DeliveryOutcome) -> None:
        raise RuntimeError("a bug in the owner")

    register_outcome_handler(OWNER, broken)
    try:
        with clock.frozen(T0) as advance:
            delivery_id = enqueue(hook(receiver))
            process_delivery_batch(queue.batch())
            advance(engine_module.DUE_GRACE_SECONDS + 1)
            assert requeue_due_deliveries().requeued == 1  # owed: handed over again
            process_delivery_batch(queue.batch())
            advance(engine_module.HANDOVER_GIVE_UP_SECONDS)
            assert requeue_due_deliveries().requeued == 0  # a day of failures: given up
            assert stored(delivery_id).due_at is None
    finally:
        engine_module._HANDLERS.pop(OWNER, None)
    assert len(receiver.log) == 1 and list_attempts(OWNER, "sub-1", "acme")[0].statusCode == 200


# ------------------------------------------------------------------------- first attempts within seconds (issue 13)


def test_a_failed_record_is_visible_again_within_seconds_not_after_the_visibility_timeout(
    queue: Queue, receiver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record the engine could not finish (here its owner's handler raised) is handed out again by SQS within
    seconds: left alone it would wait out the queue's 6-minute visibility timeout, and the retrier would find it
    only after the due grace (the ~2-minute first attempts of issue 13)."""
    from pollgate.webhooks import consumer

    receiver.expect_request("/hook").respond_with_data("", status=200)

    def failing(outcome: DeliveryOutcome) -> None:
        raise RuntimeError("the owner's table is throttled")

    register_outcome_handler(OWNER, failing)
    changed: list[dict[str, Any]] = []
    sqs = aws.client("sqs")
    monkeypatch.setattr(sqs, "change_message_visibility", lambda **kwargs: changed.append(kwargs))
    try:
        enqueue(hook(receiver))
        batch = queue.batch()
        for record in batch["Records"]:
            record["attributes"] = {"ApproximateReceiveCount": "1"}
        answer = process_delivery_batch(batch)
    finally:
        engine_module._HANDLERS.pop(OWNER, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert changed == [
        {
            "QueueUrl": queue.url,
            "ReceiptHandle": batch["Records"][0]["receiptHandle"],
            "VisibilityTimeout": consumer.RETRY_FIRST_SECONDS,
        }
    ]
    assert [consumer.retry_visibility(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]


def test_concurrent_batches_in_one_process_do_not_wait_for_each_others_threads(
    queue: Queue, outcomes: list[DeliveryOutcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two invocations in one process (as the local runtime runs them), 10 records each: all 20 POSTs are in flight
    at once. With one pool of 10 threads for the process, the second batch queued behind the first, past the
    function's timeout, and its messages waited out the visibility timeout."""
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "20")
    reset_settings()
    in_flight = threading.Barrier(20, timeout=15)

    class AllAtOnce(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                in_flight.wait()
                status = 200
            except threading.BrokenBarrierError:
                status = 500
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), AllAtOnce)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for _ in range(20):
            enqueue(f"http://127.0.0.1:{server.server_address[1]}/hook")
        records = queue.batch()["Records"]
        batches = [{"Records": records[:10]}, {"Records": records[10:]}]
        workers = [threading.Thread(target=process_delivery_batch, args=(batch,)) for batch in batches]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(o.status_code or 0 for o in outcomes) == [200] * 20


# ------------------------------------------------------------------------------------ secret rotation (issue 13)


def test_during_a_rotation_every_attempt_carries_both_signatures_and_either_secret_verifies(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    """The owner's resolver answers the secrets of the moment, so a delivery queued before the rotation is signed
    with the new secret too; `standardwebhooks` and `svix` each verify with the old or the new secret alone."""
    import svix.webhooks
    from pollgate.webhooks import register_secret_resolver
    from pollgate.webhooks.signing import live_secrets

    new_secret = new_signing_secret()
    rotation: dict[str, Any] = {"until": None}
    register_secret_resolver(
        OWNER,
        lambda tenant, owner_id: (
            live_secrets(new_secret, SECRET, rotation["until"], clock.epoch()) if rotation["until"] else None
        ),
    )
    receiver.expect_request("/hook").respond_with_data("", status=204)
    try:
        enqueue(hook(receiver))  # queued with the old secret
        rotation["until"] = clock.epoch() + 86_400
        process_delivery_batch(queue.batch())
        rotation["until"] = clock.epoch() - 1  # the overlap is over: the new secret alone
        enqueue(hook(receiver))
        process_delivery_batch(queue.batch())
    finally:
        engine_module._SECRET_RESOLVERS.pop(OWNER, None)
    during, after = (request for request, _ in receiver.log)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, new_secret):
        assert standardwebhooks.Webhook(secret).verify(during.get_data(), dict(during.headers)) == {"count": 1}
        svix.webhooks.Webhook(secret).verify(during.get_data(), dict(during.headers))
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert standardwebhooks.Webhook(new_secret).verify(after.get_data(), dict(after.headers)) == {"count": 1}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(after.get_data(), dict(after.headers))
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(SECRET).verify(after.get_data(), dict(after.headers))


def test_a_resolver_that_fails_leaves_the_secret_given_at_enqueue_signing(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    from pollgate.webhooks import register_secret_resolver

    def broken(tenant: str, owner_id: str) -> list[str]:
        raise RuntimeError("throttled")

    register_secret_resolver(OWNER, broken)
    receiver.expect_request("/hook").respond_with_data("", status=204)
    try:
        enqueue(hook(receiver))
        process_delivery_batch(queue.batch())
    finally:
        engine_module._SECRET_RESOLVERS.pop(OWNER, None)
    [(request, _)] = receiver.log
    assert standardwebhooks.Webhook(SECRET).verify(request.get_data(), dict(request.headers)) == {"count": 1}
    assert outcomes[0].succeeded


# ----------------------------------------------------------------------------------- automatic disabling (issue 13)


def test_an_endpoint_failing_for_five_days_is_disabled_and_a_success_resets_the_count(
    queue: Queue, receiver: HTTPServer, outcomes: list[DeliveryOutcome]
) -> None:
    from pollgate.webhooks import reset_endpoint_health

    receiver.expect_request("/hook").respond_with_data("down", status=503)
    one_attempt = RetrySchedule(())
    with clock.frozen(T0) as advance:
        for day in range(5):  # one failed delivery a day, and one a second short of five days: not yet
            enqueue(hook(receiver), one_attempt)
            process_delivery_batch(queue.batch())
            advance(86_400 if day < 4 else 86_400 - 1)
        enqueue(hook(receiver), one_attempt)
        process_delivery_batch(queue.batch())
        assert [o.disable_reason for o in outcomes] == [None] * 6
        advance(1)  # five days since the first failure
        enqueue(hook(receiver), RetrySchedule((5, 5)))
        process_delivery_batch(queue.batch())
        last = outcomes[-1]
        assert last.disable_reason is not None and "5 days" in last.disable_reason
        assert last.final and not last.gone  # no more retries of this delivery: it is disabled like a 410 one
        assert queue.attempts_queued() == []
        # Re-enabled by its owner: the failures so far no longer count.
        reset_endpoint_health(OWNER, "acme", "sub-1")
        enqueue(hook(receiver), one_attempt)
        process_delivery_batch(queue.batch())
        assert outcomes[-1].disable_reason is None
        # A success ends a run of failures: the next failure starts counting afresh.
        receiver.clear()
        receiver.expect_request("/hook").respond_with_data("", status=200)
        advance(6 * 86_400)
        enqueue(hook(receiver), one_attempt)
        process_delivery_batch(queue.batch())
        receiver.clear()
        receiver.expect_request("/hook").respond_with_data("", status=500)
        advance(86_400)
        enqueue(hook(receiver), one_attempt)
        process_delivery_batch(queue.batch())
        assert outcomes[-1].disable_reason is None and not outcomes[-1].succeeded
