"""The Densify face's functions as a client calls them, its test data, and the `densify` fixture (users and
records published on moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pollgate import clock
from pollgate.densify.auth import UserStore
from pollgate.densify.records import RecordsDocument, RecordStore

from tests.integration.conftest import Function

TOKEN_KEY = "k" * 64
PASSWORD = "correct horse battery staple"
NOW = 1_795_000_000.0  # Wed Nov 18 2026, 11:06:40 UTC

RECORDS: dict[str, Any] = {
    "properties": [
        {"id": "recommendationType", "alias": "Recommendation"},
        {"id": "savings", "alias": "Savings"},
        {"id": "region"},
    ],
    "tags": [{"id": "Business Unit", "alias": "BU"}, {"id": "Environment", "alias": "Env"}],
    "suppressions": [{"id": "Excluded"}],
    "systems": [
        {
            "id": "i-1",
            "properties": {"recommendationType": "Downsize", "savings": 120.5, "region": "us-east-1"},
            "tags": {"Business Unit": "Finance", "Environment": "prod"},
            "suppressions": {"Excluded": "false"},
        },
        {
            "id": "i-2",
            "properties": {"recommendationType": "Downsize", "savings": 40, "region": "eu-west-1"},
            "tags": {"Business Unit": "Retail", "Environment": "prod"},
            "suppressions": {"Excluded": "true"},
        },
        {
            "id": "i-3",
            "properties": {"recommendationType": "Modernize", "savings": 300, "region": "us-west-2"},
            "tags": {"Business Unit": "Finance", "Environment": "dev"},
            "suppressions": {"Excluded": "false"},
        },
        {
            "id": "i-4",
            "properties": {"recommendationType": "Just Right", "savings": 0, "region": "us-east-2"},
            "tags": {"Business Unit": "Platform", "Environment": "prod"},
        },
    ],
}


def subscription(name: str = "Downsizing", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subscriptionName": name,
        "description": "downsize candidates",
        "propertyReferences": [{"propertyID": "recommendationType", "operator": "=", "values": ["Downsize"]}],
    }
    body.update(fields)
    return body


class Densify:
    """The face's functions, called as API Gateway would, with a logged-in user's token."""

    def __init__(self) -> None:
        self.fn = {
            name: Function(f"densify_{name}")
            for name in (
                "authorize",
                "list_subscriptions",
                "create_subscriptions",
                "replace_subscription",
                "delete_subscription",
                "delete_subscriptions",
                "get_results",
                "get_status",
                "list_deliveries",
                "resend_delivery",
                "rotate_secret",
                "send_test_event",
                "recover_deliveries",
            )
        }

    def login(self, user: str, password: str = PASSWORD) -> dict[str, Any]:
        return self.fn["authorize"].http("POST", "/authorize", body={"userName": user, "pwd": password})

    def token(self, user: str) -> str:
        answer = self.login(user)
        assert answer["statusCode"] == 200, answer
        return str(body(answer)["apiToken"])

    def call(
        self,
        name: str,
        method: str,
        path: str,
        token: str | None,
        *,
        route: str | None = None,
        params: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        return self.fn[name].http(method, path, route=route, path_parameters=params, headers=headers, **kwargs)

    def create(self, token: str, items: Any, platform: str | None = None, **kwargs: Any) -> dict[str, Any]:
        path = "/subscriptions" + (f"/{platform}" if platform else "")
        return self.call("create_subscriptions", "POST", path, token, body=items, **kwargs)

    def create_one(self, token: str, platform: str | None = None, **fields: Any) -> str:
        answer = self.create(token, [subscription(**fields)], platform)
        assert answer["statusCode"] == 200, answer
        return str(body(answer)[0]["subscriptionRef"])

    def list(self, token: str | None, platform: str | None = None, query: dict[str, str] | None = None) -> Any:
        path = "/subscriptions" + (f"/{platform}" if platform else "")
        return self.call("list_subscriptions", "GET", path, token, query=query)

    def results(
        self, token: str | None, ref: str, platform: str | None = None, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        path = f"/subscriptions/{platform}/{ref}" if platform else f"/subscriptions/{ref}"
        return self.call("get_results", "GET", path, token, query=query)

    def status(self, token: str | None, ref: str, platform: str | None = None) -> dict[str, Any]:
        path = f"/subscriptions/{platform}/{ref}/status" if platform else f"/subscriptions/{ref}/status"
        return self.call("get_status", "GET", path, token)


def body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"]) if answer.get("body") else None


def assert_error(answer: dict[str, Any], status: int) -> str:
    assert answer["statusCode"] == status, answer
    error = body(answer)
    assert set(error) == {"message", "status"} and error["status"] == status
    return str(error["message"])


@pytest.fixture
def densify(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Densify]:
    arn = boto3.client("secretsmanager").create_secret(Name="densify-token", SecretString=TOKEN_KEY)["ARN"]
    monkeypatch.setenv("DENSIFY_TOKEN_SECRET_ARN", arn)
    users = UserStore()
    users.add("alice", PASSWORD)
    users.add("bob", PASSWORD)
    users.add("root", PASSWORD, admin=True)
    with clock.frozen(NOW):
        RecordStore().publish("cloud", RecordsDocument.model_validate(RECORDS))
        yield Densify()
