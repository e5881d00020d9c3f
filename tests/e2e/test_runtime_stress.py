"""The runtime under load, bounded: 16 clients at once submit 400 UAI status-log reports and 200 single-device
ThingSpace activations to one `pollgate run`. Every submit is accepted, and every one reaches its real outcome
(`statusLog.logged`, `Success`): none fails for a runtime reason (a 5xx, a RuntimeError in a workflow), none is
lost (left Pending). Clients do not retry: an answer the runtime should not give counts against it.

Waits are bounded (each call, and the whole run to the last outcome); no duration is asserted. A failure says which
ids are where: refused submits by answer, operations still Pending, operations that ended otherwise and why.

Today's runtime (every function in one process, moto's backends shared by its threads unserialised) fails it:
measured 378 of 400 reports `statusLog.failed` (RuntimeError), the 200 activations Success. Until `pollgate run`
is the runtime issue 9 asks for (sandboxes, serialised services; recognised by its `--no-iam` option), the test is
an expected failure and is not run (POLLGATE_STRESS=1 runs it anyway), so `make test` stays green and cheap;
with that runtime it runs in full.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from pollgate import aws, items, settings
from pollgate_local.client import call
from pollgate_local.process import RuntimeProcess

from tests.conftest import DeviceKey
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

CLIENTS = 16
UAI_REPORTS = 400
THINGSPACE_ACTIONS = 200
CALL_TIMEOUT_SECONDS = 60.0  # one HTTP call; generous: the machine is shared
SETTLE_SECONDS = 300.0  # every accepted operation finished, from the last submit

STATUS_LOG = "/uai/2.0/updates/statusLog"
KEYS = "/flexnet/operations/api/updates/update-authorization-key"
ACCOUNT = "0000333333-00001"
M2M = "/api/m2m/v1"


@dataclass(frozen=True)
class Job:
    face: str  # "uai" or "thingspace"
    number: int

    @property
    def name(self) -> str:
        return f"{self.face}-{self.number}"


@dataclass
class Accepted:
    job: Job
    operation_id: str
    outcome_path: str  # where its client polls its outcome


class Seeded:
    """The runtime's clients: a UAI device key, a ThingSpace client's bearer and session, THINGSPACE_ACTIONS
    pre-active devices (written by the operator's own stores, as the account's admin)."""

    def __init__(self, runtime: RuntimeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runtime = runtime
        self.table_name = runtime.wait_for("table          Table:").rsplit(": ", 1)[1]
        admin = {"authorization": f"Bearer {runtime.wait_for('secret         AdminSecret:').rsplit(': ', 1)[1]}"}
        self.device = DeviceKey()
        status, _, uploaded = self.call("PUT", KEYS, {"publicKey": self.device.public_b64}, admin)
        assert status == 200, uploaded

        for name, value in {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{runtime.aws_port}",
            "TABLE_NAME": self.table_name,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        settings.reset_settings()
        aws.reset_clients()
        from pollgate.thingspace.auth import CredentialStore
        from pollgate.thingspace.inventory import InventoryStore

        inventory, credentials = InventoryStore(), CredentialStore()
        inventory.add_account(ACCOUNT)
        credentials.add_client("stress-client", "stress-client-secret")
        credentials.add_user("stress-user", "stress-password", [ACCOUNT])
        for n in range(THINGSPACE_ACTIONS):
            inventory.add_device(ACCOUNT, {"imei": imei(n)})

        basic = "Basic " + base64.b64encode(b"stress-client:stress-client-secret").decode()
        status, _, token = self.call(
            "POST",
            "/api/ts/v1/oauth2/token",
            raw=b"grant_type=client_credentials",
            headers={"authorization": basic, "content-type": "application/x-www-form-urlencoded"},
        )
        assert status == 200, token
        self.m2m = {"authorization": f"Bearer {token['access_token']}"}
        status, _, session = self.call(
            "POST", f"{M2M}/session/login", {"username": "stress-user", "password": "stress-password"}, self.m2m
        )
        assert status == 200, session
        self.m2m["vz-m2m-token"] = session["sessionToken"]
        session_aws = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self.table = session_aws.resource("dynamodb", endpoint_url=f"http://127.0.0.1:{runtime.aws_port}").Table(
            self.table_name
        )

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> Any:
        return call(self.runtime.base_url, method, path, body, headers, raw, timeout=CALL_TIMEOUT_SECONDS)

    def submit(self, job: Job) -> Accepted | str:
        """The job's submit; what was answered instead of an acceptance, as text."""
        try:
            if job.face == "uai":
                report = {
                    "id": f"stress-{job.number}",
                    "idType": "STRING",
                    "language": 1033,
                    "packageId": "pkg",
                    "platform": "WIN64",
                    "statusCode": 2,
                    "timeStamp": "2026-11-22T10:00:00Z",
                    "updateId": f"upd-{job.number}",
                    "updateName": "Stress update",
                }
                status, _, body = self.call(
                    "POST", STATUS_LOG, report, {"authorization": f"Bearer {self.device.token()}"}
                )
                if status == 202:
                    return Accepted(job, body["url"].rsplit("/", 1)[1], body["url"])
            else:
                status, _, body = self.call(
                    "POST",
                    f"{M2M}/devices/actions/activate",
                    {
                        "accountName": ACCOUNT,
                        "servicePlan": "M2M_4G",
                        "devices": [{"deviceIds": [{"kind": "imei", "id": imei(job.number)}]}],
                    },
                    self.m2m,
                )
                if status == 200:
                    request_id = body["requestId"]
                    return Accepted(job, request_id, f"{M2M}/accounts/{ACCOUNT}/requests/{request_id}/status")
        except OSError as error:  # no answer within the call's timeout, or the connection refused / reset
            return f"no answer ({type(error).__name__})"
        return f"{status} {str(body)[:160]}"

    def outcome(self, accepted: Accepted) -> str:
        """What its client is told now, reduced to the outcome's name (or the answer, when it is no outcome)."""
        try:
            status, _, body = self.call(
                "GET", accepted.outcome_path, headers=self.m2m if accepted.job.face == "thingspace" else None
            )
        except OSError as error:
            return f"no answer ({type(error).__name__})"
        if accepted.job.face == "uai":
            return "Pending" if status == 202 else str(body.get("key")) if status == 200 else f"{status} {body}"
        return str(body.get("status")) if status == 200 else f"{status} {body}"

    def operation_states(self) -> dict[str, tuple[str, str]]:
        """Every operation's status and reason, read from the table by the account's admin (one paginated scan)."""
        found: dict[str, tuple[str, str]] = {}
        arguments: dict[str, Any] = {
            "FilterExpression": "sk = :op",
            "ExpressionAttributeValues": {":op": items.OPERATION_SK},
            "ConsistentRead": True,
        }
        while True:
            page = self.table.scan(**arguments)
            for item in page["Items"]:
                found[items.operation_id_of(str(item["pk"]))] = (str(item["status"]), str(item.get("reason") or ""))
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def imei(n: int) -> str:
    return f"35{n:013d}"


def in_parallel(work: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(work, jobs))


def where(groups: dict[str, list[str]], limit: int = 12) -> str:
    return "\n".join(
        f"  {len(ids)} x {what}: {', '.join(ids[:limit])}{' ...' if len(ids) > limit else ''}"
        for what, ids in sorted(groups.items(), key=lambda group: -len(group[1]))
    )


def problems(runtime: RuntimeProcess, limit: int = 30) -> str:
    """What the runtime said went wrong (function errors, IAM denials, tracebacks), to read beside a failure."""
    marks = ("failed", "ERROR", "Error", "denied", "Traceback", "Timedout")
    found = [line for line in runtime.output() if any(mark in line for mark in marks)]
    return "\nthe runtime said:\n" + "\n".join(found[-limit:]) if found else ""


def runtime_is_isolated() -> bool:
    """Whether `pollgate run` is the sandboxed runtime of issue 9: its command line takes `--no-iam`."""
    from pollgate_local.cli import parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # argparse's usage message for an unknown option
            parser().parse_args(["run", "--no-iam"])
    except SystemExit:
        return False
    return True


@pytest.fixture
def runtime() -> Iterator[RuntimeProcess]:
    if not runtime_is_isolated() and os.environ.get("POLLGATE_STRESS") != "1":  # =1: run it on any runtime
        pytest.xfail("today's runtime loses work under concurrency (issue 9 item 2): 378 of 400 reports failed")
    with RuntimeProcess("--no-demo") as process:
        yield process


@pytest.fixture
def seeded(runtime: RuntimeProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seeded]:
    try:
        yield Seeded(runtime, monkeypatch)
    finally:  # the core's cached settings and clients must not outlive this runtime
        settings.reset_settings()
        aws.reset_clients()


def test_sixteen_clients_lose_nothing_and_fail_nothing(seeded: Seeded) -> None:
    jobs = [Job("uai", n) for n in range(UAI_REPORTS)] + [Job("thingspace", n) for n in range(THINGSPACE_ACTIONS)]
    random.Random(9).shuffle(jobs)  # the faces interleaved, the same way every run

    submitted = in_parallel(seeded.submit, jobs)
    refused: dict[str, list[str]] = defaultdict(list)
    for job, answer in zip(jobs, submitted, strict=True):
        if not isinstance(answer, Accepted):
            refused[answer].append(job.name)
    assert not refused, (
        f"submits not accepted ({sum(map(len, refused.values()))} of {len(jobs)}):\n"
        + where(refused)
        + problems(seeded.runtime)
    )
    accepted: list[Accepted] = submitted
    assert len({a.operation_id for a in accepted}) == len(jobs), "two submits answered the same id"

    # Bounded: every operation finished (read from the table, cheaply), then each client reads its outcome once.
    lock = threading.Lock()
    last: dict[str, tuple[str, str]] = {}

    def all_finished() -> bool:
        states = seeded.operation_states()
        with lock:
            last.clear()
            last.update({a.job.name: states.get(a.operation_id, ("missing", "")) for a in accepted})
            return all(status != "Pending" for status, _ in last.values())

    try:
        eventually(all_finished, SETTLE_SECONDS, interval=1.0, what="every accepted operation finished")
    except AssertionError:
        by_state: dict[str, list[str]] = defaultdict(list)
        for name, (status, reason) in last.items():
            by_state[f"{status} {reason}".strip()].append(name)
        raise AssertionError(
            f"not every operation finished within {SETTLE_SECONDS} s:\n" + where(by_state) + problems(seeded.runtime)
        ) from None

    outcomes = in_parallel(seeded.outcome, accepted)
    expected = {"uai": "statusLog.logged", "thingspace": "Success"}
    wrong: dict[str, list[str]] = defaultdict(list)
    for answer, outcome in zip(accepted, outcomes, strict=True):
        if outcome != expected[answer.job.face]:
            status, reason = last[answer.job.name]
            wrong[f"{answer.job.face}: told {outcome} (operation {status}{', ' + reason if reason else ''})"].append(
                f"{answer.job.name}={answer.operation_id}"
            )
    counts = Counter(outcomes)
    assert not wrong, f"outcomes other than the real one ({dict(counts)}):\n" + where(wrong) + problems(seeded.runtime)
