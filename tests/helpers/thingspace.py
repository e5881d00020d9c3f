"""The ThingSpace face on the local harness (the real handlers and state machine on moto): the `world` fixture,
a client with users of two accounts. For the end-to-end tests against `pollgate run`: its operator commands, and
the seeding every such test starts from."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws
from pollgate.thingspace.auth import CredentialStore, forget_cached_bearers, issue_token, login
from pollgate.thingspace.device_results import DeviceResultStore
from pollgate.thingspace.inventory import InventoryStore
from pollgate_local.process import RuntimeProcess
from pollgate_local.stack import MOTO_CONFIG, LocalStack

from tests.aws_fixtures import http_event
from tests.helpers.runtime import run_operator

ACCOUNT, OTHER = "0000123456-00001", "0000999999-00001"
ACTIONS = "/api/m2m/v1/devices/actions"


class World:
    """A stack with a client, a user of ACCOUNT, and headers for M2M calls."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.inventory = InventoryStore()
        for account in (ACCOUNT, OTHER):
            self.inventory.add_account(account)
        CredentialStore().add_client("client", "client-secret")
        CredentialStore().add_user("alice", "alice-password", [ACCOUNT])
        CredentialStore().add_user("bob", "bob-password", [OTHER])
        basic = "Basic " + base64.b64encode(b"client:client-secret").decode()
        self.access = issue_token(basic, "client_credentials").access_token
        self.headers = self.headers_for("alice", "alice-password")

    def headers_for(self, username: str, password: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}", "vz-m2m-token": login(username, password)}

    def device(self, state: str = "pre-active", **ids: str) -> dict[str, str]:
        self.inventory.add_device(ACCOUNT, ids, state)
        return ids

    def submit(
        self,
        action: str,
        *devices: dict[str, str],
        account: str = ACCOUNT,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        request = {
            "accountName": account,
            "servicePlan": "M2M_4G",
            "reasonCode": "FF",
            **options,
            "devices": [{"deviceIds": [{"kind": kind, "id": value} for kind, value in ids.items()]} for ids in devices],
        }
        answer: dict[str, Any] = self.stack.invoke(
            "ThingSpaceDeviceActionFunction",
            http_event("POST", f"{ACTIONS}/{action}", body=request, headers=headers or self.headers),
        )
        return answer

    def run(self, action: str, *devices: dict[str, str], **options: Any) -> str:
        """Submit and wait for the workflow to end; the request id."""
        answer = self.submit(action, *devices, **options)
        assert answer["statusCode"] == 200, answer
        request_id = str(json.loads(answer["body"])["requestId"])
        machine = self.stack.provisioned.state_machines["ThingSpaceDeviceActionStateMachine"]
        execution = machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1"
        assert self.stack.wait_for_execution(execution, timeout=20)["status"] == "SUCCEEDED"
        return request_id

    def status(self, request_id: str, account: str = ACCOUNT, headers: dict[str, str] | None = None) -> Any:
        answer = self.stack.invoke(
            "ThingSpaceRequestStatusFunction",
            http_event(
                "GET",
                f"/api/m2m/v1/accounts/{account}/requests/{request_id}/status",
                route="/api/m2m/v1/accounts/{accountname}/requests/{requestID}/status",
                path_parameters={"accountname": account, "requestID": request_id},
                headers=headers or self.headers,
            ),
        )
        return answer["statusCode"], json.loads(answer["body"])

    def state_of(self, **ids: str) -> tuple[str, int]:
        found = self.inventory.find_device(ACCOUNT, list(ids.items()))
        assert found is not None
        return str(found["state"]), int(found["transitions"])

    def fault(self, request_id: str, index: int = 0) -> str | None:
        item = DeviceResultStore().get(request_id, index)
        assert item is not None
        return item.get("faultCode")


@pytest.fixture
def world() -> Iterator[World]:
    forget_cached_bearers()
    with mock_aws(config=MOTO_CONFIG), LocalStack() as stack:
        stack.provision()
        stack.start_invoke_server()
        yield World(stack)
    forget_cached_bearers()


# ------------------------------------------------------------------------------------- end to end (pollgate run)


def operator(runtime: RuntimeProcess, *args: str, stdin: str = "") -> dict[str, Any]:
    """`python -m pollgate.thingspace.operator ...` on the runtime: the JSON of its last line (empty when it printed
    nothing)."""
    printed = run_operator(runtime, "pollgate.thingspace.operator", *args, stdin=stdin).strip()
    return json.loads(printed.splitlines()[-1]) if printed else {}


@dataclass(frozen=True)
class Seeded:
    """What the operator created on a fresh runtime: an OAuth client, and a user of the account."""

    client_key: str
    client_secret: str
    username: str
    password: str


def seed(
    runtime: RuntimeProcess, *, client_key: str, account: str, username: str, devices: Iterable[Sequence[str]]
) -> Seeded:
    """An OAuth client, an account, a user of it (its password generated) and the account's devices, each given by
    its ids (`kind=value`), as an operator sets up a new customer."""
    client = operator(runtime, "add-client", "--key", client_key)
    operator(runtime, "add-account", "--name", account)
    user = operator(runtime, "add-user", "--username", username, "--account", account)
    for ids in devices:
        operator(runtime, "add-device", "--account", account, *[part for id_ in ids for part in ("--id", id_)])
    return Seeded(client_key, str(client["clientSecret"]), username, str(user["password"]))
