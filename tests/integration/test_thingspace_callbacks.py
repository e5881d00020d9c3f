"""ThingSpace callbacks on the local harness: register/list/delete through the handlers, and CarrierService
results POSTed by the real webhook engine to a loopback listener, signatures verified with `standardwebhooks`."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pollgate import clock
from pollgate.operations import OperationStore
from pollgate.settings import reset_settings
from pollgate.thingspace import carrier_service
from pollgate.thingspace.auth import CredentialStore, forget_cached_bearers, issue_token, login
from pollgate.thingspace.carrier_service import CALLBACK_CLAIM_SECONDS, OWNER_KIND, CallbackClaimHeld, CallbackStore
from pollgate.thingspace.device_results import DeviceResultStore
from pollgate.thingspace.inventory import InventoryStore
from pollgate.thingspace.tasks import apply_single_device, finish
from pollgate.thingspace.workflow import WORKFLOW
from pollgate.webhooks import DeliveryMessage, handle_message, list_attempts
from pollgate_local.stack import MOTO_CONFIG, LocalStack
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from tests.aws_fixtures import http_event

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("outcome_handlers")]
ACCOUNT = "0000123456-00001"
CALLBACKS = f"/api/m2m/v1/callbacks/{ACCOUNT}"


class World:
    def __init__(self, stack: LocalStack, listener: HTTPServer, queue_url: str) -> None:
        self.stack, self.listener, self.queue_url = stack, listener, queue_url
        self.inventory = InventoryStore()
        self.inventory.add_account(ACCOUNT)
        CredentialStore().add_client("client", "client-secret")
        CredentialStore().add_user("alice", "alice-password", [ACCOUNT])
        access = issue_token(
            "Basic " + base64.b64encode(b"client:client-secret").decode(), "client_credentials"
        ).access_token
        self.headers = {"authorization": f"Bearer {access}", "vz-m2m-token": login("alice", "alice-password")}

    def call(
        self, function: str, method: str, path: str, route: str, params: dict[str, str], body: Any = None
    ) -> tuple[int, Any]:
        answer = self.stack.invoke(
            function, http_event(method, path, route=route, path_parameters=params, body=body, headers=self.headers)
        )
        return answer["statusCode"], json.loads(answer["body"])

    def register(self, **registration: Any) -> tuple[int, Any]:
        return self.call(
            "ThingSpaceRegisterCallbackFunction",
            "POST",
            CALLBACKS,
            "/api/m2m/v1/callbacks/{accountname}",
            {"accountname": ACCOUNT},
            registration,
        )

    def listed(self) -> Any:
        return self.call(
            "ThingSpaceListCallbacksFunction",
            "GET",
            CALLBACKS,
            "/api/m2m/v1/callbacks/{accountname}",
            {"accountname": ACCOUNT},
        )[1]

    def delete(self, name: str) -> tuple[int, Any]:
        return self.call(
            "ThingSpaceDeleteCallbackFunction",
            "DELETE",
            f"{CALLBACKS}/name/{name}",
            "/api/m2m/v1/callbacks/{accountname}/name/{serviceName}",
            {"accountname": ACCOUNT, "serviceName": name},
        )

    def activate(self, imei: str, state: str = "pre-active") -> str:
        self.inventory.add_device(ACCOUNT, {"imei": imei}, state)
        answer = self.stack.invoke(
            "ThingSpaceDeviceActionFunction",
            http_event(
                "POST",
                "/api/m2m/v1/devices/actions/activate",
                headers=self.headers,
                body={
                    "accountName": ACCOUNT,
                    "servicePlan": "M2M_4G",
                    "devices": [{"deviceIds": [{"kind": "imei", "id": imei}]}],
                },
            ),
        )
        request_id = str(json.loads(answer["body"])["requestId"])
        machine = self.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
        execution = machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1"
        assert self.stack.wait_for_execution(execution, timeout=20)["status"] == "SUCCEEDED"
        return request_id

    def deliver_queued(self) -> int:
        """What the delivery function does with the queue: make each attempt a message asks for."""
        sqs = boto3.client("sqs")
        made = 0
        for _ in range(10):  # bounded: a handful of messages at most in these tests
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return made
            for message in messages:
                if handle_message(DeliveryMessage.from_json(message["Body"])) is not None:
                    made += 1
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return made


@pytest.fixture
def listener(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4  # pytest-httpserver's shared server on 127.0.0.1, cleared before each test


@pytest.fixture
def world(listener: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    forget_cached_bearers()
    with mock_aws(config=MOTO_CONFIG), LocalStack() as stack:
        stack.provision()
        stack.start_invoke_server()
        queue_url = (
            stack.provisioned.shared_environment.get("WEBHOOK_QUEUE_URL")
            or boto3.client("sqs").create_queue(QueueName="thingspace-test-deliveries")["QueueUrl"]
        )
        monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue_url)
        monkeypatch.setenv("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")  # the listener is on loopback
        monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "5")
        reset_settings()
        yield World(stack, listener, queue_url)
    forget_cached_bearers()


def test_register_list_and_delete_a_listener_and_never_show_its_password(world: World) -> None:
    status, answer = world.register(
        name="CarrierService", url="https://listener.example/cb", username="u", password="p4ss"
    )
    assert status == 200
    assert answer["accountName"] == ACCOUNT and answer["serviceName"] == "CarrierService"
    assert answer["signingSecret"].startswith("whsec_")
    assert world.listed() == [
        {"accountName": ACCOUNT, "serviceName": "CarrierService", "url": "https://listener.example/cb", "username": "u"}
    ]
    status, again = world.register(name="CarrierService", url="https://listener.example/v2")
    assert again["signingSecret"] == answer["signingSecret"]  # replacing the URL keeps the secret receivers hold
    assert world.listed() == [
        {"accountName": ACCOUNT, "serviceName": "CarrierService", "url": "https://listener.example/v2"}
    ]
    assert world.delete("CarrierService") == (200, {"accountName": ACCOUNT, "serviceName": "CarrierService"})
    assert world.listed() == []
    status, missing = world.delete("CarrierService")
    assert (status, missing["errorCode"]) == (400, "REQUEST_FAILED.CallbackNotFound")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/cb",
        "http://169.254.169.254/",
        "http://0x7f000001/cb",
        "http://2130706433/cb",
        "http://0177.0.0.1/cb",
        "http://127.1/cb",
        "http://user:pass@listener.example/cb",
        "http://listener.example:0/cb",
        "http://listener.example:65536/cb",
        "http://[fd00::1]/cb",
        "gopher://listener.example/",
    ],
)
def test_listener_urls_refused_by_their_form_answer_input_invalid_naming_url(world: World, url: str) -> None:
    status, answer = world.register(name="CarrierService", url=url)
    assert (status, answer["errorCode"]) == (400, "INPUT_INVALID.Url.Invalid")
    assert "url" in answer["errorMessage"]
    assert world.listed() == []


@pytest.mark.parametrize(
    ("registration", "code"),
    [
        ({"name": "NoSuchService", "url": "https://x.example"}, "INPUT_INVALID.Name.Invalid"),
        ({"name": "CarrierService", "url": "ftp://x.example"}, "INPUT_INVALID.Url.Invalid"),
        ({"name": "CarrierService"}, "INPUT_INVALID.Url.Invalid"),
    ],
)
def test_bad_registrations_answer_input_invalid(world: World, registration: dict[str, str], code: str) -> None:
    status, answer = world.register(**registration)
    assert (status, answer["errorCode"]) == (400, code)


def test_a_finished_activation_is_posted_signed_with_basic_auth_and_recorded(world: World) -> None:
    received: list[Request] = []

    def listen(request: Request) -> Response:
        received.append(request)
        return Response("ok", status=200)

    world.listener.expect_request("/carrier", method="POST").respond_with_handler(listen)
    _, registered = world.register(
        name="CarrierService", url=world.listener.url_for("/carrier"), username="listener", password="hunter2"
    )
    request_id = world.activate("990000862471854")
    assert world.deliver_queued() == 1

    [request] = received
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"listener:hunter2").decode()
    payload = Webhook(registered["signingSecret"]).verify(request.get_data(), dict(request.headers))
    assert payload["requestId"] == request_id
    assert payload["status"] == "Success"
    assert payload["deviceIds"] == [{"kind": "imei", "id": "990000862471854"}]
    assert payload["deviceResponse"]["activateResponse"]["state"] == "active"
    assert "faultResponse" not in payload

    [attempt] = list_attempts(OWNER_KIND, "CarrierService", ACCOUNT)
    assert (attempt.attempt, attempt.statusCode, attempt.final) == (1, 200, True)
    result = DeviceResultStore().get(request_id, 0)
    assert result is not None
    assert (result["callbackStatus"], result["callbackAttempts"]) == ("Delivered", 1)


def test_a_failed_device_carries_a_fault_and_a_failing_listener_is_retried_five_minutes_later(world: World) -> None:
    world.listener.expect_request("/carrier", method="POST").respond_with_data("down", status=503)
    _, registered = world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    request_id = world.activate("2001", state="active")  # already active: the device fails
    assert world.deliver_queued() == 1

    [(request, _)] = world.listener.log
    payload = Webhook(registered["signingSecret"]).verify(request.get_data(), dict(request.headers))
    assert payload["requestId"] == request_id and payload["status"] == "Failed"
    assert payload["faultResponse"]["faultcode"] == "REQUEST_FAILED.DeviceAlreadyActive"
    assert "deviceResponse" not in payload
    [attempt] = list_attempts(OWNER_KIND, "CarrierService", ACCOUNT)
    assert (attempt.statusCode, attempt.final) == (503, False)
    assert attempt.nextAttemptAt is not None
    waited = datetime.fromisoformat(attempt.nextAttemptAt) - datetime.fromisoformat(attempt.at)
    assert 299 <= waited.total_seconds() <= 301  # the vendor's 5 minutes, no jitter
    result = DeviceResultStore().get(request_id, 0)
    assert result is not None and (result["callbackStatus"], result["callbackAttempts"]) == ("Retrying", 1)


def test_a_listener_answering_410_is_deregistered(world: World) -> None:
    world.listener.expect_request("/carrier", method="POST").respond_with_data("gone", status=410)
    world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    world.activate("3001")
    assert world.deliver_queued() == 1
    assert world.listed() == []
    assert CallbackStore().live(ACCOUNT, "CarrierService") is None
    assert world.register(name="CarrierService", url=world.listener.url_for("/v2"))[0] == 200
    assert [item["url"] for item in world.listed()] == [world.listener.url_for("/v2")]  # registering again revives it


def test_no_listener_means_no_callback(world: World) -> None:
    world.register(name="DeviceUsage", url="https://usage.example/cb")  # another service's listener
    request_id = world.activate("4001")
    assert world.deliver_queued() == 0
    result = DeviceResultStore().get(request_id, 0)
    assert result is not None and "callbackDeliveryId" not in result


def test_each_device_callback_is_queued_once_whoever_finishes_the_request(world: World) -> None:
    world.listener.expect_request("/carrier", method="POST").respond_with_data("ok")
    world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    done = world.activate("5001")
    assert finish(done, claimant="a-re-driven-execution") == "Success"  # the request had queued it already
    assert world.deliver_queued() == 1

    # A Finish attempt that claimed a device's callback and is slow, or crashed, before queueing it: another
    # attempt waits (Step Functions retries it) until the claim lapses, then takes over.
    CallbackStore().delete(ACCOUNT, "CarrierService")
    with clock.frozen(time.time()) as advance:
        crashed = world.activate("5003")
        world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
        assert DeviceResultStore().claim_callback(crashed, 0, "attempt-1", CALLBACK_CLAIM_SECONDS) == "mine"
        with pytest.raises(CallbackClaimHeld):
            finish(crashed, claimant="attempt-2")
        assert world.deliver_queued() == 0
        advance(CALLBACK_CLAIM_SECONDS + 1)
        assert finish(crashed, claimant="attempt-2") == "Success"
        assert world.deliver_queued() == 1
        assert finish(crashed, claimant="attempt-1") == "Success"  # the slow one, at last: nothing more to queue
        assert world.deliver_queued() == 0
    assert len(world.listener.log) == 2


def test_a_single_device_task_claims_the_callback_in_the_write_that_records_the_outcome(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one task of a single-device request records the outcome with the callback claimed (no claim of its
    own): an attempt that dies before queueing holds the others off until its claim lapses, and the callback is
    queued once, the device moved once."""
    world.listener.expect_request("/carrier", method="POST").respond_with_data("ok")
    world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    world.inventory.add_device(ACCOUNT, {"imei": "6001"}, "pre-active")
    request_id = str(uuid.uuid4())
    work = {
        "action": "activate",
        "accountName": ACCOUNT,
        "devices": [[{"kind": "imei", "id": "6001"}]],
        "options": {"servicePlan": "M2M_4G"},
        "submittedAt": clock.epoch(),
    }
    OperationStore().create(request_id, WORKFLOW, ACCOUNT, work)  # Pending; its workflow is this test

    def dies(**_: Any) -> str:
        raise ConnectionError("the attempt's sandbox ended")

    def claimed_apart(*_: Any) -> str:
        raise AssertionError("the claim was a write of its own")

    with clock.frozen(time.time()) as advance:
        with monkeypatch.context() as dying:
            dying.setattr(carrier_service, "enqueue_delivery", dies)
            dying.setattr(DeviceResultStore, "claim_callback", claimed_apart)
            with pytest.raises(ConnectionError):
                apply_single_device(request_id, claimant="attempt-1")
        recorded = DeviceResultStore().get(request_id, 0)
        assert recorded is not None and recorded["status"] == "Success"
        assert recorded["callbackClaim"] == "attempt-1" and "callbackDeliveryId" not in recorded
        with pytest.raises(CallbackClaimHeld):
            apply_single_device(request_id, claimant="attempt-2")
        advance(CALLBACK_CLAIM_SECONDS + 1)
        assert apply_single_device(request_id, claimant="attempt-2") == "Success"
        assert apply_single_device(request_id, claimant="attempt-3") == "Success"  # nothing more to queue
        assert world.deliver_queued() == 1
    assert len(world.listener.log) == 1
    assert world.inventory.devices(ACCOUNT)[0].get("transitions") == 1


# ---------------------------------------------------------------- a listener's deliveries and secret (issue 13)


@pytest.fixture
def no_queue_delay(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries are queued with DelaySeconds, which moto holds for real seconds: here they are receivable at once
    (the engine still checks each attempt's time against pollgate's clock)."""
    from pollgate import aws

    sqs = aws.client("sqs")
    real_send = sqs.send_message
    monkeypatch.setattr(sqs, "send_message", lambda **kwargs: real_send(**{**kwargs, "DelaySeconds": 0}))


def refresh(world: World) -> None:
    """New credentials once the clock has moved on past the token's and the session's lifetimes."""
    forget_cached_bearers()
    access = issue_token(
        "Basic " + base64.b64encode(b"client:client-secret").decode(), "client_credentials"
    ).access_token
    world.headers = {"authorization": f"Bearer {access}", "vz-m2m-token": login("alice", "alice-password")}


LISTENER = f"{CALLBACKS}/name/CarrierService"
LISTENER_ROUTE = "/api/m2m/v1/callbacks/{accountname}/name/{serviceName}"


def listener_call(
    world: World,
    function: str,
    method: str,
    suffix: str,
    account: str = ACCOUNT,
    service: str = "CarrierService",
    headers: dict[str, str] | None = None,
    **params: str,
) -> tuple[int, Any]:
    path = f"/api/m2m/v1/callbacks/{account}/name/{service}{suffix}"
    route = LISTENER_ROUTE + suffix.replace(params.get("deliveryId", "\0"), "{deliveryId}")
    answer = world.stack.invoke(
        function,
        http_event(
            method,
            path,
            route=route,
            path_parameters={"accountname": account, "serviceName": service, **params},
            headers=headers or world.headers,
        ),
    )
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.usefixtures("no_queue_delay")
def test_a_listeners_attempts_are_listed_and_a_failed_callback_is_resent_with_its_webhook_id(world: World) -> None:
    world.listener.expect_request("/carrier", method="POST").respond_with_data("down", status=503)
    world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    with clock.frozen(time.time()) as advance:
        request_id = world.activate("6001")
        assert world.deliver_queued() == 1
        for _ in range(3):  # the vendor's 3 retries, 5 minutes apart
            advance(300)
            assert world.deliver_queued() == 1
        refresh(world)
        status, listed = listener_call(world, "ThingSpaceListDeliveriesFunction", "GET", "/deliveries")
        assert status == 200, listed
        assert (listed["accountName"], listed["serviceName"], listed["active"]) == (ACCOUNT, "CarrierService", True)
        attempts = listed["attempts"]
        assert [(a["attempt"], a["statusCode"], a["final"]) for a in attempts] == [
            (4, 503, True),
            (3, 503, False),
            (2, 503, False),
            (1, 503, False),
        ]
        assert set(attempts[0]) >= {
            "deliveryId",
            "attempt",
            "at",
            "url",
            "durationMs",
            "final",
            "statusCode",
            "error",
            "responseBody",
            "nextAttemptAt",
            "eventType",
            "webhookId",
        }
        delivery_id = attempts[0]["deliveryId"]
        status, resent = listener_call(
            world,
            "ThingSpaceResendDeliveryFunction",
            "POST",
            f"/deliveries/{delivery_id}/resend",
            deliveryId=delivery_id,
        )
        assert status == 200, resent
        assert resent["resentFrom"] == delivery_id and resent["deliveryId"] != delivery_id
        world.listener.clear()
        world.listener.expect_request("/carrier", method="POST").respond_with_data("ok", status=200)
        advance(60)
        assert world.deliver_queued() == 1
        [(request, _)] = world.listener.log
        assert request.headers["webhook-id"] == delivery_id  # receivers de-duplicate on it
        result = DeviceResultStore().get(request_id, 0)
        assert result is not None and result["callbackStatus"] == "Delivered"
        status, again = listener_call(
            world,
            "ThingSpaceResendDeliveryFunction",
            "POST",
            f"/deliveries/{resent['deliveryId']}/resend",
            deliveryId=resent["deliveryId"],
        )
        assert (status, again["errorCode"]) == (400, "REQUEST_FAILED.DeliveryNotResendable")
        status, unknown = listener_call(
            world, "ThingSpaceResendDeliveryFunction", "POST", "/deliveries/msg_nope/resend", deliveryId="msg_nope"
        )
        assert (status, unknown["errorCode"]) == (400, "REQUEST_FAILED.DeliveryNotFound")


def test_another_accounts_listener_answers_like_an_unknown_one(world: World) -> None:
    other = "0000999999-00001"
    world.inventory.add_account(other)
    CredentialStore().add_user("bob", "bob-password", [other])
    bob = {**world.headers, "vz-m2m-token": login("bob", "bob-password")}
    answer = world.stack.invoke(
        "ThingSpaceRegisterCallbackFunction",
        http_event(
            "POST",
            f"/api/m2m/v1/callbacks/{other}",
            route="/api/m2m/v1/callbacks/{accountname}",
            path_parameters={"accountname": other},
            body={"name": "CarrierService", "url": "https://bob.example/cb"},
            headers=bob,
        ),
    )
    assert answer["statusCode"] == 200
    for function, method, suffix in (
        ("ThingSpaceListDeliveriesFunction", "GET", "/deliveries"),
        ("ThingSpaceRotateSecretFunction", "POST", "/secret/rotate"),
        ("ThingSpaceSendTestEventFunction", "POST", "/test"),
    ):
        theirs = listener_call(world, function, method, suffix, account=other)
        nobodys = listener_call(world, function, method, suffix, account="0000000000-99999")
        assert theirs[0] == nobodys[0] == 400
        assert theirs[1]["errorCode"] == nobodys[1]["errorCode"] == "REQUEST_FAILED.AccountNotFound"
        mine_unknown = listener_call(world, function, method, suffix)  # alice has no CarrierService listener
        assert (mine_unknown[0], mine_unknown[1]["errorCode"]) == (400, "REQUEST_FAILED.CallbackNotFound")
    assert (
        listener_call(world, "ThingSpaceListDeliveriesFunction", "GET", "/deliveries", account=other, headers=bob)[0]
        == 200
    )


def test_rotation_signs_callbacks_with_both_secrets_for_24_hours_and_survives_re_registering(world: World) -> None:
    import standardwebhooks
    import svix.webhooks

    world.listener.expect_request("/carrier", method="POST").respond_with_data("ok")
    _, registered = world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    old_secret = registered["signingSecret"]
    status, rotated = listener_call(world, "ThingSpaceRotateSecretFunction", "POST", "/secret/rotate")
    assert status == 200, rotated
    new_secret = rotated["signingSecret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert datetime.fromisoformat(rotated["previousSecretValidUntil"]).timestamp() > time.time() + 86_000
    # Registering again (a new URL) keeps the rotated secret and its overlap.
    _, again = world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    assert again["signingSecret"] == new_secret
    world.activate("7001")
    assert world.deliver_queued() == 1
    [(request, _)] = world.listener.log
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):
        assert standardwebhooks.Webhook(secret).verify(request.get_data(), dict(request.headers))["status"] == "Success"
        svix.webhooks.Webhook(secret).verify(request.get_data(), dict(request.headers))


def test_a_test_event_reaches_the_listener_signed_and_is_recorded(world: World) -> None:
    world.listener.expect_request("/carrier", method="POST").respond_with_data("ok")
    _, registered = world.register(
        name="CarrierService", url=world.listener.url_for("/carrier"), username="u", password="p"
    )
    status, sent = listener_call(world, "ThingSpaceSendTestEventFunction", "POST", "/test")
    assert status == 200, sent
    assert (sent["succeeded"], sent["statusCode"]) == (True, 200)
    [(request, _)] = world.listener.log
    payload = Webhook(registered["signingSecret"]).verify(request.get_data(), dict(request.headers))
    assert payload["test"] is True and request.headers["Authorization"].startswith("Basic ")
    _, listed = listener_call(world, "ThingSpaceListDeliveriesFunction", "GET", "/deliveries")
    assert [(a["deliveryId"], a["eventType"], a["final"]) for a in listed["attempts"]] == [
        (sent["deliveryId"], "thingspace.callback.test", True)
    ]
    assert world.deliver_queued() == 0  # once, never retried


@pytest.mark.usefixtures("no_queue_delay")
def test_a_listener_failing_for_days_is_disabled_with_the_reason_and_registering_again_enables_it(world: World) -> None:
    world.listener.expect_request("/carrier", method="POST").respond_with_data("down", status=500)
    world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    with clock.frozen(time.time()) as advance:
        for n in range(6):  # a request a day, every callback attempt failing; the sixth is five days on
            world.activate(f"800{n}")
            for _ in range(4):  # the first attempt and the vendor's 3 retries
                world.deliver_queued()
                advance(300)
            advance(86_400 - 1200)
            refresh(world)
        assert world.listed() == []  # disabled: no longer listed as registered
        status, listed = listener_call(world, "ThingSpaceListDeliveriesFunction", "GET", "/deliveries")
        assert status == 200 and listed["active"] is False
        assert "every delivery failed for 5 days" in listed["disabledReason"]
        record = CallbackStore().get(ACCOUNT, "CarrierService")
        assert record is not None and "every delivery failed" in record["disabledReason"]
        world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
        _, listed = listener_call(world, "ThingSpaceListDeliveriesFunction", "GET", "/deliveries")
        assert listed["active"] is True and "disabledReason" not in listed


@pytest.mark.usefixtures("no_queue_delay")
def test_recovery_runs_as_a_workflow_and_re_sends_the_listeners_failed_callbacks(world: World) -> None:
    """Through the stack: the recovery's operation, its state machine and worker, then the queue and the engine."""
    world.listener.expect_request("/carrier", method="POST").respond_with_data("gone", status=410)
    world.register(name="CarrierService", url=world.listener.url_for("/carrier"))
    since = clock.iso(time.time() - 60)
    world.activate("9001")
    assert world.deliver_queued() == 1  # 410: final at once, the listener disabled
    [failed] = list_attempts(OWNER_KIND, "CarrierService", ACCOUNT)
    world.register(name="CarrierService", url=world.listener.url_for("/carrier"))  # enabled again
    world.listener.clear()
    world.listener.expect_request("/carrier", method="POST").respond_with_data("ok")

    answer = world.stack.invoke(
        "ThingSpaceRecoverDeliveriesFunction",
        http_event(
            "POST",
            f"{LISTENER}/deliveries/recover",
            route=LISTENER_ROUTE + "/deliveries/recover",
            path_parameters={"accountname": ACCOUNT, "serviceName": "CarrierService"},
            body={"since": since},
            headers=world.headers,
        ),
    )
    assert answer["statusCode"] == 202, answer
    accepted = json.loads(answer["body"])
    assert answer["headers"]["Location"] == accepted["url"] and answer["headers"]["Retry-After"]
    machine = world.stack.provisioned.state_machines["WebhookRecoveryStateMachine"]
    execution = machine.replace(":stateMachine:", ":execution:") + f":{accepted['recoveryId']}-1"
    assert world.stack.wait_for_execution(execution, timeout=20)["status"] == "SUCCEEDED"
    status, done = listener_call(
        world,
        "ThingSpaceRecoverDeliveriesFunction",
        "GET",
        f"/recoveries/{accepted['recoveryId']}",
        recoveryId=accepted["recoveryId"],
    )
    assert status == 200, done
    assert (done["status"], done["resent"]) == ("Succeeded", 1)
    assert world.deliver_queued() == 1
    [(request, _)] = world.listener.log
    assert request.headers["webhook-id"] == failed.deliveryId
    status, bad = listener_call(
        world, "ThingSpaceRecoverDeliveriesFunction", "GET", "/recoveries/nope", recoveryId="nope"
    )
    assert (status, bad["errorCode"]) == (400, "REQUEST_FAILED.RecoveryNotFound")
    answer = world.stack.invoke(
        "ThingSpaceRecoverDeliveriesFunction",
        http_event(
            "POST",
            f"{LISTENER}/deliveries/recover",
            route=LISTENER_ROUTE + "/deliveries/recover",
            path_parameters={"accountname": ACCOUNT, "serviceName": "CarrierService"},
            body={"since": "soon"},
            headers=world.headers,
        ),
    )
    assert (answer["statusCode"], json.loads(answer["body"])["errorCode"]) == (400, "INPUT_INVALID.Since.Invalid")
