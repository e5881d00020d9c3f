"""A subscription's webhook beyond the vendor's API (ours), through the real handlers on moto, to a loopback
receiver that verifies with `standardwebhooks` and `svix`: secret rotation, test events, automatic disabling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import boto3
import pytest
import standardwebhooks
import svix.webhooks
from pollgate import clock
from pollgate.densify.auth import UserStore
from pollgate.densify.push import OWNER_KIND, TENANT, run_scheduler
from pollgate.densify.records import RecordsDocument, RecordStore
from pollgate.densify.subscriptions import SubscriptionStore
from pollgate.settings import reset_settings
from pollgate.webhooks import list_attempts
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers.densify import PASSWORD, RECORDS, TOKEN_KEY, Densify, assert_error, body, subscription
from tests.helpers.webhooks import deliver_queued

pytestmark = pytest.mark.usefixtures("outcome_handlers")


@pytest.fixture
def densify(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Densify, str]]:
    """The face on moto with a real queue; the clock frozen at the real now (receivers check timestamps)."""
    arn = boto3.client("secretsmanager").create_secret(Name="densify-token", SecretString=TOKEN_KEY)["ARN"]
    monkeypatch.setenv("DENSIFY_TOKEN_SECRET_ARN", arn)
    queue_url = boto3.client("sqs").create_queue(QueueName="deliveries")["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue_url)
    monkeypatch.setenv("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "2")
    reset_settings()
    UserStore().add("alice", PASSWORD)
    UserStore().add("bob", PASSWORD)
    with clock.frozen(float(int(time.time()))):
        RecordStore().publish("cloud", RecordsDocument.model_validate(RECORDS))
        yield Densify(), str(queue_url)


def push_now(ref: str) -> None:
    """Make the subscription due and run the scheduler (pushes go out on schedule days at the push hour)."""
    SubscriptionStore().due_again(ref, clock.epoch() - 1)
    run_scheduler()


def test_rotation_answers_the_new_secret_and_pushes_carry_both_signatures_for_24_hours(
    densify: tuple[Densify, str], httpserver: HTTPServer
) -> None:
    face, queue_url = densify
    alice, bob = face.token("alice"), face.token("bob")
    received: list[Request] = []

    def receive(request: Request) -> Response:
        received.append(request)
        return Response("", status=204)

    httpserver.expect_request("/hook").respond_with_handler(receive)
    [created] = body(
        face.create(
            alice,
            [subscription(webhook={"uri": httpserver.url_for("/hook")}, schedule={"dayofWeek": [1, 2, 3, 4, 5, 6, 7]})],
        )
    )
    ref, old_secret = created["subscriptionRef"], created["signingSecret"]

    answer = face.call("rotate_secret", "POST", f"/subscriptions/cloud/{ref}/secret/rotate", alice)
    assert answer["statusCode"] == 200, answer
    rotated = body(answer)
    new_secret = rotated["signingSecret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert datetime.fromisoformat(rotated["previousSecretValidUntil"]).timestamp() == clock.epoch() + 86_400
    listed = body(face.list(alice))
    assert [s["webhook"]["signingSecret"] for s in listed] == [new_secret]
    # Someone else's subscription is not found; a rotation by its owner only.
    assert_error(face.call("rotate_secret", "POST", f"/subscriptions/{ref}/secret/rotate", bob), 404)

    push_now(ref)
    assert deliver_queued(queue_url) == 1
    [push] = received
    assert len(push.headers["webhook-signature"].split(" ")) == 2
    for secret in (new_secret, old_secret):  # the receiver may hold either while it switches over
        assert standardwebhooks.Webhook(secret).verify(push.get_data(), dict(push.headers))["count"] >= 0
        svix.webhooks.Webhook(secret).verify(push.get_data(), dict(push.headers))

    # The overlap over, only the new secret signs.
    stored = SubscriptionStore().get(ref)
    assert stored is not None and stored.signing_secrets(clock.epoch() + 86_400) == [new_secret]


def test_a_test_event_is_sent_now_signed_and_recorded_like_a_push(
    densify: tuple[Densify, str], httpserver: HTTPServer
) -> None:
    face, queue_url = densify
    alice, bob = face.token("alice"), face.token("bob")
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=204)
    httpserver.expect_ordered_request("/hook").respond_with_data("nope", status=500)
    [created] = body(face.create(alice, [subscription(webhook={"uri": httpserver.url_for("/hook")})]))
    ref = created["subscriptionRef"]

    answer = face.call("send_test_event", "POST", f"/subscriptions/cloud/{ref}/test", alice)
    assert answer["statusCode"] == 200, answer
    sent = body(answer)
    assert (sent["succeeded"], sent["statusCode"], sent["error"]) == (True, 204, None)
    [(request, _)] = httpserver.log
    payload = standardwebhooks.Webhook(created["signingSecret"]).verify(request.get_data(), dict(request.headers))
    assert payload["test"] is True and payload["subscriptionRef"] == ref and payload["results"] == []
    assert request.headers["webhook-id"] == sent["deliveryId"]

    failed = body(face.call("send_test_event", "POST", f"/subscriptions/{ref}/test", alice))
    assert (failed["succeeded"], failed["statusCode"]) == (False, 500)
    listed = body(face.call("list_deliveries", "GET", f"/subscriptions/{ref}/deliveries", alice))["attempts"]
    assert sorted((a["deliveryId"], a["statusCode"], a["final"], a["eventType"]) for a in listed) == sorted(
        [
            (failed["deliveryId"], 500, True, "densify.subscription.test"),
            (sent["deliveryId"], 204, True, "densify.subscription.test"),
        ]
    )  # (same frozen time: either order)
    assert deliver_queued(queue_url) == 0  # sent once, never retried
    # A test changes no status; another user's subscription is not found.
    assert body(face.status(alice, ref)) == {"lastTriggered": "", "webHookStatus": ""}
    assert_error(face.call("send_test_event", "POST", f"/subscriptions/{ref}/test", bob), 404)


def test_a_webhook_failing_for_five_days_is_deactivated_with_the_reason_and_a_put_brings_it_back(
    densify: tuple[Densify, str], httpserver: HTTPServer
) -> None:
    face, queue_url = densify
    alice = face.token("alice")
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    definition = subscription(
        webhook={"uri": httpserver.url_for("/hook")}, schedule={"dayofWeek": [1, 2, 3, 4, 5, 6, 7]}
    )
    [created] = body(face.create(alice, [definition]))
    ref = created["subscriptionRef"]
    start = clock.epoch()
    with clock.frozen(start) as advance:
        for day in range(6):  # a push a day, each failing on its first attempt; day 5 is five days on
            push_now(ref)
            assert deliver_queued(queue_url) == 1
            if day < 5:
                advance(86_400)
        alice = face.token("alice")  # five days on: a fresh token
        listed = body(face.list(alice))[0]
        assert listed["webhook"]["active"] == "false"
        status = body(face.status(alice, ref))["webHookStatus"]
        assert "every delivery failed for 5 days" in status
        # Off the push schedule, as after a 410.
        assert not SubscriptionStore().get(ref).pushes  # type: ignore[union-attr]
        # A PUT (the owner's say-so) enables it again, and the failures so far no longer count.
        answer = face.call("replace_subscription", "PUT", f"/subscriptions/cloud/{ref}", alice, body=definition)
        assert answer["statusCode"] == 200, answer
        assert body(face.list(alice))[0]["webhook"]["active"] == "true"
        advance(60)
        push_now(ref)
        deliver_queued(queue_url)
        attempts = list_attempts(OWNER_KIND, ref, TENANT)
        assert "every delivery failed" not in body(face.status(alice, ref))["webHookStatus"]
        assert attempts[0].final is False  # retried on the schedule again, not disabled at once


def test_recovery_re_sends_what_failed_for_good_in_the_window_with_the_original_webhook_ids(
    densify: tuple[Densify, str], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pollgate operation: 202 + polling URL + Retry-After, then 200 with the count re-sent. (The workflow is
    the worker's task, run here directly: this ring has no Step Functions, so its start fails and the operation
    waits, Pending, as the sweeper would find it.)"""
    from pollgate.webhooks.recovery import run_recovery

    monkeypatch.setenv("WEBHOOK_RECOVERY_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:none")
    reset_settings()
    face, queue_url = densify
    alice, bob = face.token("alice"), face.token("bob")
    httpserver.expect_request("/hook").respond_with_data("down", status=410)
    definition = subscription(
        webhook={"uri": httpserver.url_for("/hook")}, schedule={"dayofWeek": [1, 2, 3, 4, 5, 6, 7]}
    )
    [created] = body(face.create(alice, [definition]))
    ref = created["subscriptionRef"]
    start = clock.epoch()
    with clock.frozen(start) as advance:
        failed: list[str] = []
        for _ in range(3):  # three pushes a day apart, each answered 410 (final at once)
            push_now(ref)
            deliver_queued(queue_url)
            failed.append(list_attempts(OWNER_KIND, ref, TENANT)[0].deliveryId)
            # A PUT makes the webhook active again (a 410 deactivated it).
            assert (
                face.call(
                    "replace_subscription", "PUT", f"/subscriptions/cloud/{ref}", face.token("alice"), body=definition
                )["statusCode"]
                == 200
            )
            advance(86_400)
        alice, bob = face.token("alice"), face.token("bob")
        since = clock.iso(start + 86_400 - 60)  # the second and third pushes only
        path = f"/subscriptions/cloud/{ref}/deliveries/recover"
        assert_error(face.call("recover_deliveries", "POST", path, bob, body={"since": since}), 404)
        assert "since" in assert_error(face.call("recover_deliveries", "POST", path, alice, body={}), 400)
        assert "since" in assert_error(
            face.call("recover_deliveries", "POST", path, alice, body={"since": "yesterday"}), 400
        )
        answer = face.call("recover_deliveries", "POST", path, alice, body={"since": since})
        assert answer["statusCode"] == 202, answer
        accepted = body(answer)
        assert accepted["status"] == "Pending" and accepted["since"] == since
        assert (
            answer["headers"]["Location"]
            == accepted["url"]
            == f"/subscriptions/cloud/{ref}/recoveries/{accepted['recoveryId']}"
        )
        assert int(answer["headers"]["Retry-After"]) >= 1
        polled = face.call("recover_deliveries", "GET", accepted["url"], alice)
        assert polled["statusCode"] == 202 and body(polled)["status"] == "Pending"

        httpserver.clear()
        httpserver.expect_request("/hook").respond_with_data("", status=204)
        assert run_recovery(accepted["recoveryId"]) == "Succeeded"
        assert run_recovery(accepted["recoveryId"]) == "Succeeded"  # a second run re-sends nothing more
        done = face.call("recover_deliveries", "GET", accepted["url"], alice)
        assert done["statusCode"] == 200, done
        result = body(done)
        assert (result["status"], result["resent"]) == ("Succeeded", 2)
        assert deliver_queued(queue_url) == 2
        sent_ids = sorted(request.headers["webhook-id"] for request, _ in httpserver.log)
        assert sent_ids == sorted(failed[1:])  # the originals' webhook-ids; the first push was before `since`
        resent = [a for a in list_attempts(OWNER_KIND, ref, TENANT) if a.resentFrom]
        assert sorted(a.resentFrom or "" for a in resent) == sorted(failed[1:])
        # Another user's subscription, another subscription's recovery, an unknown id: not found.
        assert_error(face.call("recover_deliveries", "GET", accepted["url"], bob), 404)
        assert_error(face.call("recover_deliveries", "GET", f"/subscriptions/cloud/{ref}/recoveries/nope", alice), 404)
