"""The scheduled push on moto: due subscriptions found through the `due` index, handed to the webhook engine,
delivered to a real loopback receiver that verifies the signature, and every outcome recorded on the status."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from pollgate import clock
from pollgate.densify.auth import Caller, UserStore
from pollgate.densify.dates import java_date
from pollgate.densify.models import SubscriptionBody
from pollgate.densify.push import OWNER_KIND, record_outcome, run_scheduler
from pollgate.densify.records import RecordsDocument, RecordStore
from pollgate.densify.subscriptions import SubscriptionStore, create_subscriptions, replace_subscription
from pollgate.settings import reset_settings
from pollgate.store import Key, Table
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from tests.helpers.densify import RECORDS, Densify, assert_error, body, subscription
from tests.helpers.webhooks import deliver_queued

pytestmark = pytest.mark.usefixtures("outcome_handlers")

# Wed Nov 18 2026 11:06:40 UTC; the push hour is 02:00 UTC.
NOW = 1_795_000_000.0
THURSDAY_2AM = datetime(2026, 11, 19, 2, tzinfo=UTC).timestamp()
ALICE = Caller("alice", admin=False)


class RecordingEnqueue:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return f"msg_{len(self.calls)}"


@pytest.fixture
def records(aws: None) -> Iterator[None]:
    with clock.frozen(NOW):
        RecordStore().publish("cloud", RecordsDocument.model_validate(RECORDS))
        yield


def create(name: str, caller: Caller = ALICE, **fields: Any) -> str:
    body_ = SubscriptionBody.model_validate(subscription(name, **fields))
    return create_subscriptions("cloud", [body_], caller)[0].ref


WEBHOOK = {"uri": "https://hooks.example.com/densify", "authType": "bearer", "authValue": "tok"}


def test_due_subscriptions_are_handed_to_the_engine_once(records: None) -> None:
    pushed = create("Pushed", webhook=WEBHOOK, returnStructure={"properties": [{"propertyID": "savings"}]})
    create("No webhook")
    create("Inactive", webhook=WEBHOOK, active="false")
    enqueue = RecordingEnqueue()
    report = run_scheduler(enqueue=enqueue)
    assert report.enqueued == 1 and len(enqueue.calls) == 1
    call = enqueue.calls[0]
    assert call["owner_kind"] == OWNER_KIND and call["owner_id"] == pushed
    assert call["target"].url == WEBHOOK["uri"] and call["target"].auth_header == ("Authorization", "Bearer tok")
    assert call["target"].secret.startswith("whsec_")
    assert call["payload"]["count"] == 2 and call["payload"]["results"] == [{"savings": 120.5}, {"savings": 40}]
    assert "divider" not in json.dumps(call["payload"])
    # Claimed: a second run at the same moment pushes nothing; the next push is tomorrow at the push hour.
    assert run_scheduler(enqueue=enqueue).enqueued == 0
    item = Table().get(Key(f"DENSIFY#SUB#{pushed}", "SUB"))
    assert item is not None and item["dueAt"] == clock.iso(THURSDAY_2AM)
    with clock.frozen(THURSDAY_2AM):
        assert run_scheduler(enqueue=enqueue).enqueued == 1


def test_day_of_week_is_honoured(records: None) -> None:
    # Today is a Wednesday (3): a Monday-and-Friday subscription is not due until Friday 02:00.
    ref = create("Mondays and Fridays", webhook=WEBHOOK, schedule={"dayofWeek": [1, 5]})
    create("Wednesdays", webhook=WEBHOOK, schedule={"dayofWeek": [3]})
    enqueue = RecordingEnqueue()
    assert run_scheduler(enqueue=enqueue).enqueued == 1
    friday = datetime(2026, 11, 20, 2, tzinfo=UTC).timestamp()
    with clock.frozen(friday - 1):
        assert run_scheduler(enqueue=enqueue).enqueued == 0
    with clock.frozen(friday):
        run_scheduler(enqueue=enqueue)
    assert [c["owner_id"] for c in enqueue.calls][-1] == ref
    item = Table().get(Key(f"DENSIFY#SUB#{ref}", "SUB"))
    assert item is not None and item["dueAt"] == clock.iso(datetime(2026, 11, 23, 2, tzinfo=UTC).timestamp())


def test_basic_auth_is_encoded_and_an_unstorable_push_is_a_scheduled_failure(records: None) -> None:
    create("Basic", webhook={"uri": "https://h.example.com/", "authType": "basic", "authValue": "user:pass"})
    enqueue = RecordingEnqueue()
    run_scheduler(enqueue=enqueue)
    assert enqueue.calls[0]["target"].auth_header == ("Authorization", "Basic dXNlcjpwYXNz")

    def refuse(**_: Any) -> str:
        raise ValueError("payload too large")

    with clock.frozen(THURSDAY_2AM):
        ref = enqueue.calls[0]["owner_id"]
        assert run_scheduler(enqueue=refuse).failed == 1
    stored = SubscriptionStore().get(ref)
    assert stored is not None
    assert stored.last_triggered == "Scheduled-Failure. Thu Nov 19 02:00:00 UTC 2026"
    assert stored.webhook_status.startswith("Failure. The push could not be sent: payload too large.")


# ------------------------------------------------------------------------------------ through the real engine


@dataclass(frozen=True)
class Engine:
    queue_url: str
    date: str  # the frozen now as the vendor's dates show it


@pytest.fixture
def engine(records: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The real engine on a moto queue. Receivers check signature timestamps against the real time, so the
    clock is frozen at the real now, read when the test starts (whole seconds, as the vendor's dates show them)."""
    queue_url = boto3.client("sqs").create_queue(QueueName="deliveries")["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue_url)
    monkeypatch.setenv("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "2")
    reset_settings()
    now = float(int(time.time()))  # the real clock, not pollgate's (frozen at NOW by `records`): receivers read it
    with clock.frozen(now):
        yield Engine(str(queue_url), java_date(now))


def test_a_push_arrives_signed_and_its_success_is_the_status(
    engine: Engine, httpserver: HTTPServer, function: Any
) -> None:
    received: list[dict[str, Any]] = []
    ref = create("Signed", webhook={"uri": httpserver.url_for("/hook"), "authType": "bearer", "authValue": "tok"})
    secret = SubscriptionStore().get(ref).signing_secret  # type: ignore[union-attr]

    def receive(request: Request) -> Response:
        assert request.headers["Authorization"] == "Bearer tok"
        received.append(Webhook(secret).verify(request.get_data(), dict(request.headers)))
        return Response("ok", 200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receive)
    assert function("densify_scheduler")({})["enqueued"] == 1  # as the schedule runs it: as its role
    assert deliver_queued(engine.queue_url) == 1
    assert len(received) == 1 and received[0]["count"] == 2
    assert received[0]["subscription"]["name"] == "Signed"
    status = SubscriptionStore().get(ref)
    assert status is not None
    assert status.last_triggered == f"Scheduled Success. {engine.date}"
    assert status.webhook_status == f"Success. HTTP 200. {engine.date}"


def test_a_failed_attempt_is_recorded_and_410_deactivates_the_webhook(engine: Engine, httpserver: HTTPServer) -> None:
    failing = create("Failing", webhook={"uri": httpserver.url_for("/fail")})
    gone = create("Gone", webhook={"uri": httpserver.url_for("/gone")})
    httpserver.expect_request("/fail").respond_with_data("down", status=500)
    httpserver.expect_request("/gone").respond_with_data("bye", status=410)
    run_scheduler()
    deliver_queued(engine.queue_url)
    store = SubscriptionStore()
    retrying, deactivated = store.get(failing), store.get(gone)
    assert retrying is not None and deactivated is not None
    assert retrying.webhook_status.startswith("Failure. HTTP 500; retrying at ")
    assert retrying.last_triggered == ""  # not final yet: the engine retries
    assert deactivated.last_triggered == f"Scheduled-Failure. {engine.date}"
    assert deactivated.webhook_status.startswith("Failure. HTTP 410: the receiver is gone")
    assert deactivated.webhook_disabled and not deactivated.pushes
    assert Table().get(Key(f"DENSIFY#SUB#{gone}", "SUB")).get("dueAt") is None  # type: ignore[union-attr]


def test_attempts_are_listed_and_a_failed_push_can_be_resent(
    engine: Engine, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="densify-token", SecretString="k" * 64)["ARN"]
    monkeypatch.setenv("DENSIFY_TOKEN_SECRET_ARN", arn)
    reset_settings()

    UserStore().add("alice", "correct horse battery staple")
    UserStore().add("bob", "correct horse battery staple")
    densify = Densify()
    alice, bob = densify.token("alice"), densify.token("bob")
    ref = create("Gone then back", webhook={"uri": httpserver.url_for("/hook")})
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=410)
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=204)
    run_scheduler()
    deliver_queued(engine.queue_url)

    listed = densify.call("list_deliveries", "GET", f"/subscriptions/cloud/{ref}/deliveries", alice)
    assert listed["statusCode"] == 200, listed
    attempts = body(listed)["attempts"]
    assert len(attempts) == 1 and attempts[0]["statusCode"] == 410 and attempts[0]["final"] is True
    assert attempts[0]["url"] == httpserver.url_for("/hook")
    delivery_id = attempts[0]["deliveryId"]
    assert_error(densify.call("list_deliveries", "GET", f"/subscriptions/{ref}/deliveries", bob), 404)
    assert_error(
        densify.call("resend_delivery", "POST", f"/subscriptions/{ref}/deliveries/{delivery_id}/resend", bob), 404
    )
    assert_error(
        densify.call("resend_delivery", "POST", f"/subscriptions/{ref}/deliveries/msg_nope/resend", alice), 404
    )

    resent = densify.call(
        "resend_delivery", "POST", f"/subscriptions/cloud/{ref}/deliveries/{delivery_id}/resend", alice
    )
    assert resent["statusCode"] == 200, resent
    assert body(resent)["resentFrom"] == delivery_id
    deliver_queued(engine.queue_url)
    status = body(densify.status(alice, ref))
    assert status == {
        "lastTriggered": f"Scheduled Success. {engine.date}",
        "webHookStatus": f"Success. HTTP 204. {engine.date}",
    }
    new_id = body(resent)["deliveryId"]
    message = assert_error(
        densify.call("resend_delivery", "POST", f"/subscriptions/{ref}/deliveries/{new_id}/resend", alice), 400
    )
    assert "succeeded" in message


@dataclass(frozen=True)
class Attempt:
    """The fields of the engine's DeliveryOutcome the Densify handler reads."""

    owner_id: str
    at: str
    succeeded: bool = False
    final: bool = False
    gone: bool = False
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: str | None = None
    disable_reason: str | None = None


def test_a_late_replay_of_an_older_outcome_never_overwrites_a_newer_one(records: None) -> None:
    ref = create("Replayed", webhook=WEBHOOK)
    record_outcome(Attempt(ref, "2026-11-18T11:10:00.000Z", succeeded=True, final=True, status_code=200))
    record_outcome(
        Attempt(ref, "2026-11-18T11:07:00.000Z", status_code=500, next_attempt_at="2026-11-18T11:07:05.000Z")
    )  # an earlier attempt, handed over again
    stored = SubscriptionStore().get(ref)
    assert stored is not None
    assert stored.last_triggered == "Scheduled Success. Wed Nov 18 11:10:00 UTC 2026"
    assert stored.webhook_status == "Success. HTTP 200. Wed Nov 18 11:10:00 UTC 2026"


def test_a_subscription_made_inactive_leaves_the_due_index_and_a_put_brings_a_gone_webhook_back(records: None) -> None:
    ref = create("Toggled", webhook=WEBHOOK)
    record_outcome(Attempt(ref, "2026-11-18T11:07:00.000Z", final=True, gone=True, status_code=410))
    assert run_scheduler(enqueue=RecordingEnqueue()).enqueued == 0  # deactivated by the 410
    body_ = SubscriptionBody.model_validate(subscription("Toggled", webhook=WEBHOOK))
    replace_subscription("cloud", ref, body_, ALICE)
    enqueue = RecordingEnqueue()
    assert run_scheduler(enqueue=enqueue).enqueued == 1
    inactive = SubscriptionBody.model_validate(subscription("Toggled", webhook=WEBHOOK, active="false"))
    replace_subscription("cloud", ref, inactive, ALICE)
    item = Table().get(Key(f"DENSIFY#SUB#{ref}", "SUB"))
    assert item is not None and "dueAt" not in item


def test_a_push_the_queue_refused_stays_due_for_the_next_run(records: None) -> None:
    from botocore.exceptions import ClientError

    ref = create("Unlucky", webhook=WEBHOOK)

    def queue_down(**_: Any) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")

    assert run_scheduler(enqueue=queue_down).failed == 1
    stored = SubscriptionStore().get(ref)
    assert stored is not None and stored.last_triggered == ""  # not the subscription's fault: nothing stamped
    enqueue = RecordingEnqueue()
    assert run_scheduler(enqueue=enqueue).enqueued == 1 and enqueue.calls[0]["owner_id"] == ref


def test_more_than_30000_matches_is_a_scheduled_failure_not_a_push(records: None) -> None:
    from pollgate.densify.push import _push_one
    from pollgate.densify.records import Catalogue
    from pollgate.densify.results import RecordSet

    ref = create("Too many", webhook=WEBHOOK)
    subscription_ = SubscriptionStore().get(ref)
    assert subscription_ is not None
    many = RecordSet(
        Catalogue(), [{"id": f"i-{n}", "properties": {"recommendationType": "Downsize"}} for n in range(30_001)]
    )
    enqueue = RecordingEnqueue()
    assert _push_one(SubscriptionStore(), subscription_, many, enqueue, NOW) == ""
    assert enqueue.calls == []
    stored = SubscriptionStore().get(ref)
    assert stored is not None and stored.last_triggered == "Scheduled-Failure. Wed Nov 18 11:06:40 UTC 2026"
    assert "30001 has exceeded object return limit of 30000" in stored.webhook_status


def test_an_outcome_recorded_while_a_replace_is_in_flight_is_kept(records: None) -> None:
    store = SubscriptionStore()
    ref = create("In flight", webhook=WEBHOOK)
    read_by_the_put = store.get(ref)
    assert read_by_the_put is not None
    record_outcome(Attempt(ref, "2026-11-18T11:07:00.000Z", succeeded=True, final=True, status_code=200))
    store.replace(
        read_by_the_put, dataclasses.replace(read_by_the_put, name="Renamed", version=read_by_the_put.version + 1)
    )
    stored = store.get(ref)
    assert stored is not None and stored.name == "Renamed"
    assert stored.last_triggered == "Scheduled Success. Wed Nov 18 11:07:00 UTC 2026"
