"""The Densify scheduled push: 1,000 due subscriptions pushed to a loopback receiver that answers in 100 ms.

The clock starts when the scheduler (`run_scheduler`, what DensifySchedulerFunction runs) starts: it finds the
1,000 due subscriptions through the `due` index, claims each and hands its results document to the webhook
engine's `enqueue_delivery`. Meanwhile the template's MaximumConcurrency (WebhookMaxConcurrency) of delivery
functions, with its BatchSize, take batches and call the same `process_delivery_batch` the delivery function
calls, which POSTs, and hands each outcome to the Densify outcome handler (lastTriggered, webHookStatus). The
clock stops when every subscription's outcome has been recorded. Ideal: 1,000 x 0.1 s / MaximumConcurrency.

Subscriptions, records and the status stamps are on moto (DynamoDB in process, calls serialised: moto is not
safe under concurrent writes). The engine's delivery records and queue are kept in memory with the engine
bench's own stand-ins (bench_webhooks: the same claim and lease semantics), because moto deep-copies the whole
table for every transaction and slows down with every queued message: on moto, 1,000 deliveries measure moto.
Every loop is bounded in count and time.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from bench.figures import Figure, Figures

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIPTIONS = 1000
DEADLINE_SECONDS = 180.0


def delivery_settings() -> tuple[int, int]:
    """(MaximumConcurrency, BatchSize) of the delivery queue's event source, as template.yaml sets them."""
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    source = template["Resources"]["WebhookDeliveryFunction"]["Properties"]["Events"]["Deliveries"]["Properties"]
    concurrency = source["ScalingConfig"]["MaximumConcurrency"]
    if isinstance(concurrency, dict):  # !Ref WebhookMaxConcurrency
        concurrency = template["Parameters"][concurrency["Ref"]]["Default"]
    return int(concurrency), int(source.get("BatchSize", 10))


def _serialise(client: Any) -> None:
    lock = threading.Lock()

    def locked(call: Any) -> Any:
        def under_lock(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return call(*args, **kwargs)

        return under_lock

    for name in (
        "get_item",
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "query",
        "batch_get_item",
        "batch_write_item",
    ):
        setattr(client, name, locked(getattr(client, name)))


def _seed(hook: str) -> list[str]:
    """1,000 due subscriptions with a webhook to the receiver, written as the create call writes them."""
    from pollgate import clock
    from pollgate.densify.models import SubscriptionBody
    from pollgate.densify.records import RecordsDocument, RecordStore
    from pollgate.densify.subscriptions import Subscription, SubscriptionStore
    from pollgate.webhooks import new_signing_secret

    RecordStore().publish(
        "cloud",
        RecordsDocument.model_validate(
            {
                "properties": [{"id": "recommendationType"}, {"id": "savings"}],
                "systems": [
                    {"id": f"i-{n}", "properties": {"recommendationType": "Downsize", "savings": n}} for n in range(5)
                ],
            }
        ),
    )
    store, now, items, refs = SubscriptionStore(), clock.epoch(), [], []
    for n in range(SUBSCRIPTIONS):
        body = SubscriptionBody.model_validate(
            {
                "subscriptionName": f"bench-{n}",
                "webhook": {"uri": hook},
                "propertyReferences": [{"propertyID": "recommendationType", "operator": "=", "values": ["Downsize"]}],
            }
        )
        ref = f"bench-{n:04d}"
        refs.append(ref)
        items += store.items_of(
            Subscription(
                ref=ref,
                platform="cloud",
                owner="bench",
                name=body.subscriptionName,
                definition={**body.model_dump(mode="json", exclude_none=True), "owner": "bench"},
                created=now,
                created_by="bench",
                updated=now,
                updated_by="bench",
                version=1,
                signing_secret=new_signing_secret(),
            )
        )
    store.table.write_batch(puts=items)
    return refs


def run() -> Figures:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "pollgate-bench-densify",
        "WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "1",
    }.items():
        os.environ[name] = value
    from moto import mock_aws
    from pollgate import aws, settings
    from pollgate.densify.push import OWNER_KIND, SCHEDULER_WORKERS, record_outcome, run_scheduler
    from pollgate.densify.subscriptions import SubscriptionStore
    from pollgate.webhooks import DeliveryOutcome, register_outcome_handler

    from bench import bench_webhooks
    from tests.aws_fixtures import create_table

    concurrency, batch = delivery_settings()
    bench_webhooks.FUNCTIONS, bench_webhooks.BATCH = concurrency, batch  # the drain plays the template's functions
    receiver = bench_webhooks._Server(("127.0.0.1", 0), bench_webhooks._Receiver)  # answers in RECEIVER_SECONDS
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    recorded: list[DeliveryOutcome] = []

    def handle(outcome: DeliveryOutcome) -> None:
        record_outcome(outcome)  # the Densify handler, as pollgate.registry registers it
        recorded.append(outcome)

    register_outcome_handler(OWNER_KIND, handle)
    try:
        with bench_webhooks.in_memory_engine(batch) as receive, mock_aws():
            create_table(os.environ["TABLE_NAME"])
            settings.reset_settings()
            aws.reset_clients()
            _serialise(aws.dynamodb())
            refs = _seed(f"http://127.0.0.1:{receiver.server_address[1]}/densify")
            drain = threading.Thread(
                target=bench_webhooks._drain,
                args=(receive, lambda: len(recorded) >= SUBSCRIPTIONS, lambda message: None),
            )
            started = time.perf_counter()
            drain.start()
            report = run_scheduler(limit=SUBSCRIPTIONS)
            scheduled = time.perf_counter() - started
            drain.join(DEADLINE_SECONDS + 10)
            wall = time.perf_counter() - started
            pushed = sum(s.last_triggered.startswith("Scheduled Success") for s in SubscriptionStore().many(refs))
    finally:
        receiver.shutdown()
        receiver.server_close()
    ideal = SUBSCRIPTIONS * bench_webhooks.RECEIVER_SECONDS / concurrency
    return {
        "densify_push.enqueued": Figure(report.enqueued, "count", f">= {SUBSCRIPTIONS}"),
        "densify_push.scheduled_success": Figure(pushed, "count", f">= {SUBSCRIPTIONS}"),
        "densify_push.scheduler_s": Figure(round(scheduled, 2), "s", ""),
        "densify_push.wall_s": Figure(round(wall, 2), "s", ""),
        "densify_push.ideal_s": Figure(round(ideal, 2), "s", ""),
        "densify_push.ratio_to_ideal": Figure(round(wall / ideal, 2), "x", "<= 2"),
        "densify_push.delivery_concurrency": Figure(concurrency, "functions", ""),
        "densify_push.scheduler_threads": Figure(SCHEDULER_WORKERS, "threads", ""),
    }


if __name__ == "__main__":
    for name, figure in run().items():
        print(f"{name}: {figure.value} {figure.unit} (goal {figure.goal or '-'}; met {figure.met()})")
