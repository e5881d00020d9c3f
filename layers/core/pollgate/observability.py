"""The metrics pollgate emits: one Powertools Metrics instance (CloudWatch embedded metric format) and its counters.

A function whose code calls these flushes them with `@metrics.log_metrics(raise_on_empty_metrics=False)` on its
handler; a request that emits nothing (a 401, a poll) then prints nothing. The alarms and the dashboard in
template.yaml read these names in the namespace POWERTOOLS_METRICS_NAMESPACE, dimension `service`.
"""

from __future__ import annotations

import os
import threading
import warnings
from datetime import datetime

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from pollgate import clock

OPERATION_SUBMITTED = "OperationSubmitted"
OPERATION_SUCCEEDED = "OperationSucceeded"
OPERATION_FAILED = "OperationFailed"
# From submit to finish, as the client waiting on its polling ID sees it.
OPERATION_LATENCY = "OperationLatency"
# Per attempt: WebhookFailed / (WebhookDelivered + WebhookFailed) is the failure rate the alarm watches.
WEBHOOK_DELIVERED = "WebhookDelivered"
WEBHOOK_FAILED = "WebhookFailed"

# The template sets the namespace per stage (pollgate-<Stage>); the default keeps a
# function invoked without it (a script, a test) from failing at flush.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "pollgate")

# A request that counts nothing (a 401, a duplicate) flushes nothing: expected, so no warning line in the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# The webhook consumer makes attempts on threads; Powertools' add_metric reads then writes its metric set.
_lock = threading.Lock()


def _count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    if is_metrics_disabled():
        return  # POWERTOOLS_METRICS_DISABLED (the local runtime): Powertools would still print every 100 values
    with _lock:
        metrics.add_metric(name=name, unit=unit, value=value)


def operation_submitted() -> None:
    _count(OPERATION_SUBMITTED)


def operation_finished(status: str, created_at: str) -> None:
    """Count an operation that moved Pending -> `status` just now, and how long it took since `created_at`."""
    _count(OPERATION_SUCCEEDED if status == "Succeeded" else OPERATION_FAILED)
    try:
        started = datetime.fromisoformat(created_at).timestamp()
    except ValueError:
        return  # a record without a readable creation time still counts; it has no latency to report
    _count(OPERATION_LATENCY, max(0.0, clock.epoch() - started) * 1000, MetricUnit.Milliseconds)


def webhook_attempt(succeeded: bool) -> None:
    _count(WEBHOOK_DELIVERED if succeeded else WEBHOOK_FAILED)
