"""The metrics the alarms and the dashboard read, as the functions print them (CloudWatch embedded metric format)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from pollgate import observability
from pollgate.settings import reset_settings
from pollgate.webhooks import WebhookTarget, enqueue_delivery, new_signing_secret
from pollgate.webhooks.engine import DeliveryMessage
from pollgate.webhooks.store import DeliveryRef
from pytest_httpserver import HTTPServer

from tests.conftest import DeviceKey
from tests.helpers.uai import polling_id, submit
from tests.integration.conftest import Function

OWNER = "test.metrics"


class Emitted:
    """Every EMF document printed so far: metric totals, and the values of each metric."""

    def __init__(self, text: str) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.values: dict[str, list[float]] = {}
        self.documents: list[dict[str, Any]] = []
        for line in text.splitlines():
            if not line.startswith('{"_aws"'):
                continue
            document = json.loads(line)
            self.documents.append(document)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    raw = document[metric["Name"]]
                    values = [float(v) for v in (raw if isinstance(raw, list) else [raw])]
                    self.values.setdefault(metric["Name"], []).extend(values)
                    self.totals[metric["Name"]] += sum(values)


def emitted(capsys: pytest.CaptureFixture[str]) -> Emitted:
    return Emitted(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def _no_metrics_left_from_other_tests() -> Iterator[None]:
    observability.metrics.clear_metrics()
    yield
    observability.metrics.clear_metrics()


def test_a_submitted_and_completed_operation_is_counted_with_its_latency(
    uai: dict[str, Function], device_key: DeviceKey, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    pid = polling_id(submit(uai, device_key.token()))
    assert emitted(capsys).totals[observability.OPERATION_SUBMITTED] == 1

    uai["status_log_worker"]({"pollingId": pid})
    finished = emitted(capsys)
    assert finished.totals[observability.OPERATION_SUCCEEDED] == 1
    assert finished.totals[observability.OPERATION_FAILED] == 0
    [latency] = finished.values[observability.OPERATION_LATENCY]
    assert 0 <= latency < 60_000
    # The alarms select on namespace and the service dimension: both must be what the template says.
    document = finished.documents[0]
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "pollgate"
    assert document["service"] == "pollgate"


def test_a_rejected_submit_counts_nothing(uai: dict[str, Function], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert submit(uai, None)["statusCode"] == 401
    assert dict(emitted(capsys).totals) == {}


def test_an_operation_the_sweeper_gives_up_on_is_counted_failed(
    uai: dict[str, Function], device_key: DeviceKey, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fixture's state machine does not exist: every start fails, the sweeper re-drives, then fails it.
    polling_id(submit(uai, device_key.token()))
    sweeper = Function("operation_sweeper")
    capsys.readouterr()
    failed = 0
    for _ in range(5):  # bounded: MAX_START_ATTEMPTS (3) sweeps are enough
        failed += sweeper({})["failed"]
    assert failed == 1
    assert emitted(capsys).totals[observability.OPERATION_FAILED] == 1


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    monkeypatch.setenv("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "2")
    reset_settings()
    yield server
    server.stop()


def _delivery_batch(url: str) -> dict[str, Any]:
    """One delivery recorded by the engine, and the SQS event that carries its first attempt."""
    delivery_id = enqueue_delivery(
        owner_kind=OWNER,
        owner_id="sub-1",
        tenant="acme",
        target=WebhookTarget(url, new_signing_secret()),
        payload={"n": 1},
        event_type="test.metrics",
    )
    body = DeliveryMessage(DeliveryRef(OWNER, "acme", "sub-1", delivery_id), 1).to_json()
    return {
        "Records": [
            {
                "messageId": delivery_id,
                "receiptHandle": "r",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhooks",
                "awsRegion": "us-east-1",
            }
        ]
    }


def test_webhook_attempts_are_counted_delivered_or_failed(
    aws: None, receiver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.expect_request("/ok").respond_with_data("", status=204)
    receiver.expect_request("/broken").respond_with_data("", status=500)
    delivery = Function("webhook_delivery")
    capsys.readouterr()
    for path in ("/ok", "/broken"):
        delivery(_delivery_batch(f"http://127.0.0.1:{receiver.port}{path}"))
    delivery(_delivery_batch("http://169.254.169.254/latest/meta-data/"))  # refused by the SSRF guard
    totals = emitted(capsys).totals
    assert totals[observability.WEBHOOK_DELIVERED] == 1
    assert totals[observability.WEBHOOK_FAILED] == 2
