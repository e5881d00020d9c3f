"""No token, password or secret ever reaches the logs, on any face.

The whole stack runs on moto at log level DEBUG (the most an operator can turn on), and every face's full flow runs
through its real functions and workflows: credentials and tokens issued, used, refused, a workflow finished, a
signed webhook delivered with its auth header. Everything the process printed is then searched for each secret.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pollgate.densify.auth import UserStore
from pollgate.thingspace.auth import CredentialStore, forget_cached_bearers
from pollgate.thingspace.inventory import InventoryStore
from pollgate_local.events import sqs_event
from pollgate_local.stack import MOTO_CONFIG, LocalStack
from pytest_httpserver import HTTPServer

from tests.aws_fixtures import http_event
from tests.conftest import DeviceKey
from tests.helpers.uai import REPORT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ACCOUNT = "0000123456-00001"
SECRETS = {
    "densify password": "densify-password-6f1c2a",
    "thingspace client secret": "ts-client-secret-8d2e4b",
    "thingspace user password": "ts-user-password-3a9f7c",
    "callback password": "callback-password-5b8d1e",
    "densify webhook auth": "densify-webhook-bearer-2c7a9f",
}


class Flow:
    """The stack's functions called as API Gateway and SQS would call them, remembering every secret seen."""

    def __init__(self, stack: LocalStack, listener: HTTPServer) -> None:
        self.stack, self.listener = stack, listener
        self.secrets: dict[str, str] = dict(SECRETS)
        self.secrets.update({f"stack secret {name}": value for name, value in stack.provisioned.secret_values.items()})

    def http(self, function: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.stack.invoke(function, http_event(method, path, **kwargs))
        return {"status": answer["statusCode"], "body": json.loads(answer["body"]) if answer.get("body") else None}

    def keep(self, name: str, value: str) -> str:
        assert value, name
        self.secrets[name] = value
        return value

    def wait(self, machine: str, polling_id: str) -> None:
        arn = self.stack.provisioned.state_machines[machine]
        execution = arn.replace(":stateMachine:", ":execution:") + f":{polling_id}-1"
        assert self.stack.wait_for_execution(execution, timeout=20)["status"] == "SUCCEEDED"

    def deliver_webhooks(self) -> int:
        """Hand what is on the delivery queue to the delivery function, as its SQS event source would."""
        sqs = boto3.client("sqs")
        queue_url = self.stack.provisioned.queues["WebhookQueue"]
        delivered = 0
        for _ in range(5):  # bounded: a message or two per flow
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            records = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:webhooks")["Records"]
            answer = self.stack.invoke("WebhookDeliveryFunction", {"Records": records})
            assert answer["batchItemFailures"] == []
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            delivered += len(messages)
        return delivered


@pytest.fixture
def flow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    listener = HTTPServer(host="127.0.0.1", port=0)
    listener.start()
    listener.expect_request("/hook").respond_with_data("ok")
    forget_cached_bearers()
    parameters = {"LogLevel": "DEBUG", "WebhookAllowHosts": "127.0.0.1"}
    try:
        with mock_aws(config=MOTO_CONFIG), LocalStack(parameters=parameters) as stack:
            stack.provision()
            stack.start_invoke_server()
            yield Flow(stack, listener)
    finally:
        forget_cached_bearers()
        listener.stop()


def uai_flow(flow: Flow, device_key: DeviceKey) -> None:
    admin = flow.secrets["stack secret AdminSecret"]
    key_path = "/flexnet/operations/api/updates/update-authorization-key"
    assert (
        flow.http(
            "UaiUploadKeyFunction",
            "PUT",
            key_path,
            body={"publicKey": device_key.public_b64},
            headers={"Authorization": f"Bearer {admin}"},
        )["status"]
        == 200
    )
    wrong_admin = flow.keep("wrong admin secret", "wrong-admin-secret-1d4f8a")
    assert (
        flow.http("UaiListKeysFunction", "GET", key_path, headers={"Authorization": f"Bearer {wrong_admin}"})["status"]
        == 401
    )
    token = flow.keep("device JWT", device_key.token())
    flow.keep("device JWT signature", token.rsplit(".", 1)[1])
    tampered = flow.keep("tampered JWT", token[:-6] + "AAAAAA")
    assert (
        flow.http(
            "UaiSubmitStatusLogFunction",
            "POST",
            "/uai/2.0/updates/statusLog",
            body=REPORT,
            headers={"Authorization": f"Bearer {tampered}"},
        )["status"]
        == 401
    )
    submitted = flow.http(
        "UaiSubmitStatusLogFunction",
        "POST",
        "/uai/2.0/updates/statusLog",
        body=REPORT,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert submitted["status"] == 202
    polling_id = submitted["body"]["url"].rsplit("/", 1)[1]
    flow.wait("UaiStatusLogStateMachine", polling_id)
    polled = flow.http(
        "UaiPollStatusLogFunction",
        "GET",
        f"/uai/2.0/updates/statusLog/{polling_id}",
        route="/uai/2.0/updates/statusLog/{pollingId}",
        path_parameters={"pollingId": polling_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert polled["status"] == 200 and polled["body"]["key"] == "statusLog.logged"


def densify_flow(flow: Flow) -> None:
    UserStore().add("alice", SECRETS["densify password"])
    wrong = flow.keep("wrong densify password", "not-the-password-7e2b")
    assert (
        flow.http("DensifyAuthorizeFunction", "POST", "/authorize", body={"userName": "alice", "pwd": wrong})["status"]
        == 401
    )
    login = flow.http(
        "DensifyAuthorizeFunction", "POST", "/authorize", body={"userName": "alice", "pwd": SECRETS["densify password"]}
    )
    assert login["status"] == 200
    token = flow.keep("densify API token", login["body"]["apiToken"])
    bearer = {"Authorization": f"Bearer {token}"}
    created = flow.http(
        "DensifyCreateSubscriptionsFunction",
        "POST",
        "/subscriptions",
        headers=bearer,
        body=[
            {
                "subscriptionName": "Downsizing",
                "propertyReferences": [{"propertyID": "recommendationType", "operator": "=", "values": ["Downsize"]}],
                "webhook": {
                    "uri": flow.listener.url_for("/hook"),
                    "authType": "bearer",
                    "authValue": SECRETS["densify webhook auth"],
                },
            }
        ],
    )
    assert created["status"] == 200, created
    reference = created["body"][0]["subscriptionRef"]
    assert flow.http("DensifyListSubscriptionsFunction", "GET", "/subscriptions", headers=bearer)["status"] == 200
    assert (
        flow.http(
            "DensifyGetStatusFunction",
            "GET",
            f"/subscriptions/{reference}/status",
            route="/subscriptions/{subscriptionRef}/status",
            path_parameters={"subscriptionRef": reference},
            headers=bearer,
        )["status"]
        == 200
    )


def thingspace_flow(flow: Flow) -> None:
    InventoryStore().add_account(ACCOUNT)
    InventoryStore().add_device(ACCOUNT, {"imei": "990000862471854"})
    CredentialStore().add_client("client", SECRETS["thingspace client secret"])
    CredentialStore().add_user("alice", SECRETS["thingspace user password"], [ACCOUNT])
    basic = flow.keep(
        "client Basic header", base64.b64encode(f"client:{SECRETS['thingspace client secret']}".encode()).decode()
    )
    form = {"content-type": "application/x-www-form-urlencoded"}
    wrong = flow.keep("wrong client Basic header", base64.b64encode(b"client:guessed-secret-4c1d").decode())
    assert (
        flow.http(
            "ThingSpaceOAuthTokenFunction",
            "POST",
            "/api/ts/v1/oauth2/token",
            body="grant_type=client_credentials",
            headers={**form, "authorization": f"Basic {wrong}"},
        )["status"]
        == 401
    )
    issued = flow.http(
        "ThingSpaceOAuthTokenFunction",
        "POST",
        "/api/ts/v1/oauth2/token",
        body="grant_type=client_credentials",
        headers={**form, "authorization": f"Basic {basic}"},
    )
    access = flow.keep("thingspace access token", issued["body"]["access_token"])
    session = flow.keep(
        "thingspace session token",
        flow.http(
            "ThingSpaceSessionLoginFunction",
            "POST",
            "/api/m2m/v1/session/login",
            body={"username": "alice", "password": SECRETS["thingspace user password"]},
            headers={"authorization": f"Bearer {access}"},
        )["body"]["sessionToken"],
    )
    headers = {"authorization": f"Bearer {access}", "vz-m2m-token": session}
    registered = flow.http(
        "ThingSpaceRegisterCallbackFunction",
        "POST",
        f"/api/m2m/v1/callbacks/{ACCOUNT}",
        route="/api/m2m/v1/callbacks/{accountname}",
        path_parameters={"accountname": ACCOUNT},
        headers=headers,
        body={
            "name": "CarrierService",
            "url": flow.listener.url_for("/hook"),
            "username": "listener",
            "password": SECRETS["callback password"],
        },
    )
    assert registered["status"] == 200, registered
    flow.keep("callback signing secret", registered["body"]["signingSecret"])
    flow.keep("callback Basic header", base64.b64encode(f"listener:{SECRETS['callback password']}".encode()).decode())
    acted = flow.http(
        "ThingSpaceDeviceActionFunction",
        "POST",
        "/api/m2m/v1/devices/actions/activate",
        headers=headers,
        body={
            "accountName": ACCOUNT,
            "servicePlan": "M2M_4G",
            "devices": [{"deviceIds": [{"kind": "imei", "id": "990000862471854"}]}],
        },
    )
    request_id = acted["body"]["requestId"]
    flow.wait("ThingSpaceDeviceActionStateMachine", request_id)
    assert flow.deliver_webhooks() == 1
    assert len(flow.listener.log) == 1 and flow.listener.log[0][1].status_code == 200
    status = flow.http(
        "ThingSpaceRequestStatusFunction",
        "GET",
        f"/api/m2m/v1/accounts/{ACCOUNT}/requests/{request_id}/status",
        route="/api/m2m/v1/accounts/{accountname}/requests/{requestID}/status",
        path_parameters={"accountname": ACCOUNT, "requestID": request_id},
        headers=headers,
    )
    assert status["status"] == 200
    assert (
        flow.http("ThingSpaceSessionLogoutFunction", "POST", "/api/m2m/v1/session/logout", headers=headers)["status"]
        == 200
    )


def invalid_inputs_carrying_secrets(flow: Flow) -> None:
    """Refused input is reported to the client; it must not be echoed into the logs on the way."""
    long_password = flow.keep("over-long password", "too-long-password-" + "9" * 300)
    assert flow.http(
        "ThingSpaceSessionLoginFunction",
        "POST",
        "/api/m2m/v1/session/login",
        body={"username": "alice", "password": long_password},
    )["status"] in (400, 401)
    assert flow.http(
        "DensifyAuthorizeFunction",
        "POST",
        "/authorize",
        body={"userName": ["alice"], "pwd": flow.keep("password in a bad body", "pw-in-bad-body-4e")},
    )["status"] in (400, 401)
    admin = flow.secrets["stack secret AdminSecret"]
    assert (
        flow.http(
            "UaiUploadKeyFunction",
            "PUT",
            "/flexnet/operations/api/updates/update-authorization-key",
            body={"publicKey": flow.keep("garbage key", "not-a-key-" + "Z" * 40)},
            headers={"Authorization": f"Bearer {admin}"},
        )["status"]
        == 400
    )


@contextmanager
def logging_to_this_tests_output() -> Iterator[None]:
    """Point every log handler at this test's captured stdout: a logger made during an earlier test still
    writes to that test's capture, where this test would never see a leak."""
    handlers = [
        handler
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if type(handler) is logging.StreamHandler
    ]
    previous = [handler.setStream(sys.stdout) for handler in handlers]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            if stream is not None:
                handler.setStream(stream)


def test_no_token_password_or_secret_reaches_the_logs_of_any_face(
    flow: Flow, device_key: DeviceKey, capfd: pytest.CaptureFixture[str]
) -> None:
    with logging_to_this_tests_output():
        run_every_face(flow, device_key, capfd)


def run_every_face(flow: Flow, device_key: DeviceKey, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    uai_flow(flow, device_key)
    densify_flow(flow)
    thingspace_flow(flow)
    invalid_inputs_carrying_secrets(flow)
    captured = capfd.readouterr()
    logs = captured.out + captured.err
    # The search means something only if the capture holds the functions' logs, handler threads and the
    # delivery's worker threads alike (pollgate logs little on a good day: notable events and errors).
    logged_by = {json.loads(line).get("function_name") for line in logs.splitlines() if line.startswith('{"level"')}
    assert {"UaiUploadKeyFunction", "WebhookDeliveryFunction"} <= logged_by
    assert len(flow.secrets) >= 15
    leaked = sorted(name for name, secret in flow.secrets.items() if secret in logs)
    assert leaked == []
