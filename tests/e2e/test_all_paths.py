"""Every path of the stack in one run of `pollgate run`, as `make run` starts it (IAM enforced, once the runtime
enforces it), over real HTTP: each face's endpoints as its clients call them, and every background path the
schedules drive (the Lambda endpoint invokes a scheduled function by name, as `pollgate local invoke --endpoint`
does). The test stands for the deployed stack's roles: a grant the code needs and the template lacks shows as a
failed step, and, whatever a handler made of the refusal, as a denial the runtime printed.

What is driven, in order:
- UAI: upload a key, list keys, submit a report and poll it to `statusLog.logged`; an operation whose workflow
  never started (written Pending, past its deadline, as a lost StartExecution leaves it) is re-driven by the
  sweeper and completes; revoke the key, and a report signed with it is refused.
- Densify: log in, create subscriptions, list, on-demand results, status, PUT (replace), a scheduled push to a
  loopback receiver (scheduler), a delivery the receiver refused with a long Retry-After made overdue in the table
  and re-queued by the retrier, a delivery the receiver answered 410 re-sent, the deliveries list, delete.
- ThingSpace: token, login, register / list callbacks, activate, suspend, restore, deactivate one device, each
  polled to Success and each calling the registered listener back, signed; delete the callback, log out.

The final assertion (no "IAM denied" line in the runtime's output) depends on the runtime enforcing IAM in
`pollgate run`, and so do the failures below; the functional steps hold either way. Checked by removing each grant
from template.yaml, on the runtime that enforces IAM (branch runtime, 2699082) and, before it, with the
integration ring's IAM check (tests/helpers/iam_guard.py) installed in the old runtime's process: without
`dynamodb:UpdateItem` on DensifyReplaceSubscriptionFunction the PUT answers 500; without `dynamodb:Query` on the
table for WebhookRetryFunction the retrier's invocation fails with AccessDeniedException (and the runtime prints
`IAM denied WebhookRetryFunction: dynamodb:Query on ...`).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pollgate import items
from pollgate.store import due_partition
from pollgate_local.client import Answer, call
from pollgate_local.process import RuntimeProcess
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from tests.conftest import DeviceKey
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "layers/core/pollgate/densify/sample_records.json"
# How the runtime reports a call IAM refused: one line naming function, action and resource
# (pollgate_local/iam/refusals.py, Denial.log_line).
DENIAL = "IAM denied "
WAIT_SECONDS = 30.0

STATUS_LOG = "/uai/2.0/updates/statusLog"
KEYS = "/flexnet/operations/api/updates/update-authorization-key"
REPORT = {
    "id": "dev-paths",
    "idType": "STRING",
    "language": 1033,
    "packageId": "pkg-1",
    "platform": "WIN64",
    "statusCode": 2,
    "timeStamp": "2026-11-22T10:00:00Z",
    "updateId": "upd-1",
    "updateName": "Security update",
}

DENSIFY_PASSWORD = "an operator-chosen password"
DOWNSIZE = {
    "subscriptionName": "Downsize",
    "propertyReferences": [{"propertyID": "recommendationType", "operator": "=", "values": ["Downsize"]}],
    "returnStructure": {"properties": [{"propertyID": "currentType", "useAlias": True}]},
}

ACCOUNT = "0000444444-00001"
IMEI = "354000000000001"
M2M = "/api/m2m/v1"


# ------------------------------------------------------------------------------------------------ plumbing


def admin_environment(runtime: RuntimeProcess, table: str) -> dict[str, str]:
    """The operator's environment: the account's admin against the runtime's AWS endpoint."""
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{runtime.aws_port}",
        "TABLE_NAME": table,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    environment.pop("AWS_SESSION_TOKEN", None)
    return environment


def operator(runtime: RuntimeProcess, table: str, face: str, *args: str, stdin: str = "") -> str:
    """`python -m pollgate.<face>.operator ...`, as the README tells an operator to run it."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", f"pollgate.{face}.operator", *args],
        input=stdin,
        text=True,
        capture_output=True,
        env=admin_environment(runtime, table),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Paths:
    """The runtime under test, its table as the account's admin sees it, and its Lambda endpoint."""

    def __init__(self, runtime: RuntimeProcess) -> None:
        self.runtime = runtime
        self.table_name = runtime.wait_for("table          Table:").rsplit(": ", 1)[1]
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        self.table = session.resource("dynamodb", endpoint_url=f"http://127.0.0.1:{runtime.aws_port}").Table(
            self.table_name
        )
        self.lambda_client = session.client("lambda", endpoint_url=runtime.lambda_url)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> Answer:
        return call(self.runtime.base_url, method, path, body, headers, raw, timeout=30)

    def invoke(self, function: str) -> dict[str, Any]:
        """Invoke a (scheduled) function now, as its schedule would, through the Lambda endpoint."""
        answer = self.lambda_client.invoke(FunctionName=function, Payload=b"{}")
        payload = json.loads(answer["Payload"].read() or b"null")
        assert "FunctionError" not in answer, (function, payload)
        return dict(payload)

    def operator(self, face: str, *args: str, stdin: str = "") -> str:
        return operator(self.runtime, self.table_name, face, *args, stdin=stdin)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class Receiver:
    """A loopback webhook receiver: per path, a list of answers to give in turn (the last one repeats); every
    request it got is kept."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self._lock = threading.Lock()
        self._plans: dict[str, list[Callable[[], Response]]] = {}
        self.received: dict[str, list[Request]] = {}

    def route(self, path: str, *answers: Callable[[], Response]) -> str:
        self._plans[path] = list(answers)
        self.received[path] = []
        self.server.expect_request(path, method="POST").respond_with_handler(self._answer)
        return self.server.url_for(path)

    def _answer(self, request: Request) -> Response:
        with self._lock:
            got = self.received[request.path]
            got.append(request)
            plan = self._plans[request.path]
            return plan[min(len(got), len(plan)) - 1]()

    def count(self, path: str) -> int:
        with self._lock:
            return len(self.received[path])

    def requests(self, path: str, at_least: int) -> list[Request]:
        eventually(lambda: self.count(path) >= at_least, WAIT_SECONDS, what=f"{at_least} POSTs to {path}")
        with self._lock:
            return list(self.received[path])


def answer(status: int, headers: dict[str, str] | None = None) -> Callable[[], Response]:
    return lambda: Response("", status, headers)


@pytest.fixture
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess("--no-demo") as process:
        yield process


# ------------------------------------------------------------------------------------------------ UAI


def uai_paths(paths: Paths) -> None:
    admin = bearer(paths.runtime.wait_for("secret         AdminSecret:").rsplit(": ", 1)[1])
    device = DeviceKey()
    status, _, uploaded = paths.call("PUT", KEYS, {"publicKey": device.public_b64}, admin)
    assert (status, uploaded.get("key")) == (200, "key.uploaded"), uploaded
    key_id = uploaded["arguments"]
    status, _, listed = paths.call("GET", KEYS, headers=admin)
    assert status == 200 and key_id in [key["keyId"] for key in listed["keys"]], listed

    status, headers, accepted = paths.call("POST", STATUS_LOG, REPORT, bearer(device.token()))
    assert status == 202, accepted
    assert headers["Location"] == accepted["url"]
    outcome = poll_logged(paths, accepted["url"])
    polling_id = accepted["url"].rsplit("/", 1)[1]
    assert paths.call("GET", f"{STATUS_LOG}?pollingId={polling_id}")[::2] == (200, outcome)

    # The sweeper: an operation left Pending past its deadline with no workflow running (its StartExecution was
    # lost), written as the submit wrote the first one, is re-driven and logged.
    original: dict[str, Any] = paths.table.get_item(Key=items.operation(polling_id).attributes(), ConsistentRead=True)[
        "Item"
    ]
    stuck_id = "00000000-0000-4000-8000-000000000001"
    work = {**original["work"], "report": {**original["work"]["report"], "updateId": "upd-stuck"}}
    stuck = {key: value for key, value in original.items() if key not in ("result", "reason")}
    stuck.update(
        {
            **items.operation(stuck_id).attributes(),
            "status": "Pending",
            "work": work,
            "startAttempts": 1,
            "duePk": due_partition(items.OPERATION_DUE, stuck_id),
            "dueAt": "2000-01-01T00:00:00.000Z",
        }
    )
    paths.table.put_item(Item=stuck)
    assert paths.call("GET", f"{STATUS_LOG}/{stuck_id}")[0] == 202
    assert paths.invoke("OperationSweeperFunction")["restarted"] >= 1
    assert poll_logged(paths, f"{STATUS_LOG}/{stuck_id}")["arguments"].startswith("2, upd-stuck")

    # Revoke: a report signed by the key is never logged. A submit sandbox that has not cached the key refuses it
    # (it was the only key: none is left); a warm one may still accept it from its cache (docs/uai.md, Key
    # rotation), and then the workflow, reading the key afresh, ends it statusLog.keyRevoked.
    assert paths.call("DELETE", f"{KEYS}/{key_id}", headers=admin)[::2] == (
        200,
        {"arguments": key_id, "key": "key.revokedNow", "message": f"Key {key_id} is revoked."},
    )
    status, _, refused = paths.call("POST", STATUS_LOG, {**REPORT, "updateId": "upd-2"}, bearer(device.token()))
    if status == 202:
        assert poll_outcome(paths, refused["url"])["key"] == "statusLog.keyRevoked"
    else:
        assert (status, refused.get("key")) == (401, "auth.publicKeyMissing"), refused


def poll_logged(paths: Paths, url: str) -> dict[str, Any]:
    outcome = poll_outcome(paths, url)
    assert outcome["key"] == "statusLog.logged", outcome
    return outcome


def poll_outcome(paths: Paths, url: str) -> dict[str, Any]:
    def done() -> Answer | None:
        polled = paths.call("GET", url)
        return polled if polled.status != 202 else None

    polled = eventually(done, WAIT_SECONDS, what=f"{url} answering its outcome")
    assert polled is not None
    status, _, outcome = polled
    assert status == 200, outcome
    return dict(outcome)


# ------------------------------------------------------------------------------------------------ Densify


def densify_paths(paths: Paths, receiver: Receiver) -> None:
    paths.operator("densify", "add-user", "--user", "carol", "--password-stdin", stdin=DENSIFY_PASSWORD + "\n")
    assert "24 cloud records published" in paths.operator("densify", "load-records", "--platform", "cloud", str(SAMPLE))
    status, _, authorized = paths.call("POST", "/authorize", {"userName": "carol", "pwd": DENSIFY_PASSWORD})
    assert status == 200, authorized
    carol = bearer(authorized["apiToken"])

    def hook(url: str) -> dict[str, str]:
        return {"uri": url, "authType": "bearer", "authValue": "receiver-token"}

    pushed = receiver.route("/densify/pushed", answer(204))
    # Refused with a long Retry-After: the next attempt waits in the due index, the retrier's job.
    later = receiver.route("/densify/later", answer(429, {"Retry-After": "3600"}), answer(204))
    gone = receiver.route("/densify/gone", answer(410), answer(204))  # final at once: only a re-send retries it
    status, _, created = paths.call(
        "POST",
        "/subscriptions/cloud",
        [
            DOWNSIZE,
            {**DOWNSIZE, "subscriptionName": "Pushed", "webhook": hook(pushed)},
            {**DOWNSIZE, "subscriptionName": "Later", "webhook": hook(later)},
            {**DOWNSIZE, "subscriptionName": "Gone", "webhook": hook(gone)},
        ],
        carol,
    )
    assert status == 200 and len(created) == 4, created
    plain, pushed_sub, later_sub, gone_sub = created
    ref = plain["subscriptionRef"]

    status, _, listed = paths.call("GET", "/subscriptions/cloud", headers=carol)
    assert status == 200 and {s["subscriptionRef"] for s in created} <= {s["subscriptionRef"] for s in listed}
    status, _, results = paths.call("GET", f"/subscriptions/cloud/{ref}", headers=carol)
    assert status == 200 and results["count"] == 10, results
    status, _, state = paths.call("GET", f"/subscriptions/cloud/{ref}/status", headers=carol)
    assert status == 200 and state["lastTriggered"].startswith("On-Demand Success"), state

    # PUT replaces the definition (the subscription item updated, its name item moved).
    status, _, replaced = paths.call(
        "PUT", f"/subscriptions/cloud/{ref}", {**DOWNSIZE, "subscriptionName": "Downsize (renamed)"}, carol
    )
    assert status == 200 and replaced["subscriptionName"] == "Downsize (renamed)", replaced
    names = {
        s["subscriptionRef"]: s["subscriptionName"]
        for s in paths.call("GET", "/subscriptions/cloud", headers=carol).body
    }
    assert names[ref] == "Downsize (renamed)"

    # The schedule fires: every subscription with a webhook is pushed through the queue and delivery function.
    assert paths.invoke("DensifySchedulerFunction")["enqueued"] >= 3
    [push] = receiver.requests("/densify/pushed", 1)
    assert push.headers["Authorization"] == "Bearer receiver-token"
    document = Webhook(pushed_sub["signingSecret"]).verify(push.get_data(), dict(push.headers))
    assert document["count"] == 10 and document["subscription"]["name"] == "Pushed"
    delivered = eventually(
        lambda: attempts(paths, carol, pushed_sub["subscriptionRef"]), WAIT_SECONDS, what="the pushed delivery listed"
    )
    assert [a["statusCode"] for a in delivered] == [204]

    # Re-send: the 410 made the delivery final; a re-send is a new delivery of the same document.
    receiver.requests("/densify/gone", 1)
    [failed] = eventually(
        lambda: [a for a in attempts(paths, carol, gone_sub["subscriptionRef"]) if a["final"]],
        WAIT_SECONDS,
        what="the 410 recorded as final",
    )
    assert failed["statusCode"] == 410
    status, _, resent = paths.call(
        "POST",
        f"/subscriptions/cloud/{gone_sub['subscriptionRef']}/deliveries/{failed['deliveryId']}/resend",
        headers=carol,
    )
    assert status == 200 and resent["resentFrom"] == failed["deliveryId"], resent
    receiver.requests("/densify/gone", 2)
    eventually(
        lambda: [
            a
            for a in attempts(paths, carol, gone_sub["subscriptionRef"])
            if a["deliveryId"] == resent["deliveryId"] and a["statusCode"] == 204
        ],
        WAIT_SECONDS,
        what="the re-sent delivery's 204 listed",
    )

    # The retrier: the 429's next attempt is an hour away, in the due index only. Made overdue in the table, the
    # retrier re-queues it and the delivery function makes the attempt.
    receiver.requests("/densify/later", 1)
    [refused] = eventually(
        lambda: attempts(paths, carol, later_sub["subscriptionRef"]), WAIT_SECONDS, what="the 429 listed"
    )
    assert refused["statusCode"] == 429 and not refused["final"] and refused["nextAttemptAt"], refused
    make_overdue(paths, refused["deliveryId"])
    assert paths.invoke("WebhookRetryFunction")["requeued"] >= 1
    receiver.requests("/densify/later", 2)
    retried = eventually(
        lambda: [
            a["statusCode"] for a in attempts(paths, carol, later_sub["subscriptionRef"]) if a["statusCode"] == 204
        ],
        WAIT_SECONDS,
        what="the retried attempt listed",
    )
    assert retried == [204]
    assert [a["statusCode"] for a in attempts(paths, carol, later_sub["subscriptionRef"])] == [204, 429]

    assert paths.call("DELETE", f"/subscriptions/cloud/{ref}", headers=carol)[0] == 204
    assert paths.call("GET", f"/subscriptions/cloud/{ref}/status", headers=carol)[0] == 404


def attempts(paths: Paths, token: dict[str, str], ref: str) -> list[dict[str, Any]]:
    """The subscription's recorded push attempts, newest first."""
    status, _, listed = paths.call("GET", f"/subscriptions/cloud/{ref}/deliveries", headers=token)
    assert status == 200, listed
    return list(listed["attempts"])


def make_overdue(paths: Paths, delivery_id: str) -> None:
    """As if its hour had passed: the delivery's next attempt and due time moved into the past (admin writes)."""
    found = paths.table.scan(
        FilterExpression="deliveryId = :id AND begins_with(sk, :delivery)",
        ExpressionAttributeValues={":id": delivery_id, ":delivery": items.DELIVERY_PREFIX},
        ConsistentRead=True,
    )
    [state] = [item for item in found["Items"] if not str(item["sk"]).endswith(items.CONTENT_SUFFIX)]
    assert state["state"] == "scheduled" and state.get("dueAt"), state
    past = time.time() - 60
    paths.table.update_item(
        Key={"pk": state["pk"], "sk": state["sk"]},
        UpdateExpression="SET nextAttemptAt = :next, dueAt = :due",
        ExpressionAttributeValues={
            ":next": int(past),
            ":due": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(past)),
        },
    )


# ------------------------------------------------------------------------------------------------ ThingSpace


def thingspace_paths(paths: Paths, receiver: Receiver) -> None:
    client = json.loads(paths.operator("thingspace", "add-client", "--key", "paths-client").strip().splitlines()[-1])
    paths.operator("thingspace", "add-account", "--name", ACCOUNT)
    user = json.loads(
        paths.operator("thingspace", "add-user", "--username", "paths-user", "--account", ACCOUNT)
        .strip()
        .splitlines()[-1]
    )
    paths.operator("thingspace", "add-device", "--account", ACCOUNT, "--id", f"imei={IMEI}")

    basic = "Basic " + base64.b64encode(f"paths-client:{client['clientSecret']}".encode()).decode()
    status, _, token = paths.call(
        "POST",
        "/api/ts/v1/oauth2/token",
        raw=b"grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded", "authorization": basic},
    )
    assert status == 200 and token["expires_in"] == 3600, token
    m2m = bearer(token["access_token"])
    status, _, session = paths.call(
        "POST", f"{M2M}/session/login", {"username": "paths-user", "password": user["password"]}, m2m
    )
    assert status == 200, session
    m2m["vz-m2m-token"] = session["sessionToken"]

    url = receiver.route("/carrier", answer(200))
    status, _, registered = paths.call(
        "POST",
        f"{M2M}/callbacks/{ACCOUNT}",
        {"name": "CarrierService", "url": url, "username": "cb", "password": "cb-pass"},
        m2m,
    )
    assert status == 200 and registered["serviceName"] == "CarrierService", registered
    status, _, listed = paths.call("GET", f"{M2M}/callbacks/{ACCOUNT}", headers=m2m)
    assert status == 200 and [c["serviceName"] for c in listed] == ["CarrierService"], listed

    webhook = Webhook(registered["signingSecret"])
    for number, (action, extra) in enumerate(
        [
            ("activate", {"servicePlan": "M2M_4G"}),
            ("suspend", {}),
            ("restore", {}),
            ("deactivate", {"reasonCode": "FF"}),
        ],
        start=1,
    ):
        status, _, accepted = paths.call(
            "POST",
            f"{M2M}/devices/actions/{action}",
            {"accountName": ACCOUNT, "devices": [{"deviceIds": [{"kind": "imei", "id": IMEI}]}], **extra},
            m2m,
        )
        assert status == 200, (action, accepted)
        request_id = accepted["requestId"]

        def terminal(request_id: str = request_id) -> dict[str, Any] | None:
            status, _, state = paths.call("GET", f"{M2M}/accounts/{ACCOUNT}/requests/{request_id}/status", headers=m2m)
            assert status == 200, state
            return None if state["status"] == "Pending" else dict(state)

        final = eventually(terminal, WAIT_SECONDS, what=f"{action} terminal")
        assert final is not None and final["status"] == "Success", (action, final)
        callback = receiver.requests("/carrier", number)[number - 1]
        payload = webhook.verify(callback.get_data(), dict(callback.headers))
        assert (payload["requestId"], payload["status"]) == (request_id, "Success"), (action, payload)
        assert callback.headers["Authorization"] == "Basic " + base64.b64encode(b"cb:cb-pass").decode()

    assert paths.call("DELETE", f"{M2M}/callbacks/{ACCOUNT}/name/CarrierService", headers=m2m)[0] == 200
    assert paths.call("GET", f"{M2M}/callbacks/{ACCOUNT}", headers=m2m)[::2] == (200, [])
    assert paths.call("POST", f"{M2M}/session/logout", headers=m2m)[0] == 200


# ------------------------------------------------------------------------------------------------ the test


def test_every_face_and_every_background_path_with_no_iam_denial(
    runtime: RuntimeProcess, httpserver_ipv4: HTTPServer
) -> None:
    paths = Paths(runtime)
    receiver = Receiver(httpserver_ipv4)
    uai_paths(paths)
    densify_paths(paths, receiver)
    thingspace_paths(paths, receiver)

    runtime.stop()  # bounded (SIGTERM, then SIGKILL): how promptly it stops is another test's business
    with pytest.raises(RuntimeError):  # read every line the runtime printed, to its end
        runtime.wait_for("\0 a line no runtime prints", timeout=15)
    denials = [line for line in runtime.lines if DENIAL in line]
    assert denials == [], "the runtime refused calls the template's roles should allow:\n" + "\n".join(denials)
