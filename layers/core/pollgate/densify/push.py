"""The scheduled push: find due subscriptions through the `due` index, hand each results document to the
webhook engine, and record every attempt's outcome as lastTriggered / webHookStatus.

The scheduler never POSTs: `enqueue_delivery` stores the delivery and queues it, and the delivery consumer
makes the attempts, so one slow receiver never delays another. Each subscription is claimed by a conditional
write (dueAt moves to its next push day, guarded by the version read) so two scheduler runs never push it twice.
"""

from __future__ import annotations

import base64
import contextvars
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from pollgate import clock
from pollgate.densify import items, schedule
from pollgate.densify.auth import Caller
from pollgate.densify.dates import epoch_of_iso, java_date
from pollgate.densify.records import RecordStore
from pollgate.densify.results import (
    MAX_LIMIT,
    RecordSet,
    results_document,
    scheduled_failure,
    scheduled_success,
    webhook_failure,
    webhook_success,
)
from pollgate.densify.subscriptions import Subscription, SubscriptionStore, visible
from pollgate.errors import Invalid, NotFound
from pollgate.models import Model
from pollgate.webhooks.models import AttemptRecord

logger = Logger(child=True)

OWNER_KIND = items.PUSH_OWNER_KIND
TENANT = items.PUSH_TENANT
EVENT_TYPE = "densify.subscription.results"
SCHEDULER_WORKERS = 8  # enqueueing is two small AWS calls per subscription: overlap them, boundedly
PAGE_SIZE = 100  # subscriptions read per BatchGetItem


class Enqueue(Protocol):
    def __call__(
        self, *, owner_kind: str, owner_id: str, tenant: str, target: Any, payload: Mapping[str, Any], event_type: str
    ) -> str: ...


def _engine_enqueue() -> Enqueue:
    from pollgate.webhooks import enqueue_delivery

    return enqueue_delivery


def auth_header(webhook: Mapping[str, Any]) -> tuple[str, str] | None:
    """authType/authValue as the Authorization header. A basic credential given as "user:password" is encoded;
    one given already encoded is sent as it is."""
    kind, value = webhook.get("authType"), webhook.get("authValue")
    if not kind or not value:
        return None
    if kind == "bearer":
        return ("Authorization", f"Bearer {value}")
    encoded = base64.b64encode(value.encode()).decode() if ":" in value else value
    return ("Authorization", f"Basic {encoded}")


@dataclass
class SchedulerReport:
    enqueued: int = 0
    rescheduled: int = 0  # due, but today is not one of its days
    unscheduled: int = 0  # inactive or without a webhook: left the index
    failed: int = 0
    delivery_ids: list[str] = field(default_factory=list)


def run_scheduler(
    *,
    limit: int = 1000,
    store: SubscriptionStore | None = None,
    records: RecordStore | None = None,
    enqueue: Enqueue | None = None,
    workers: int = SCHEDULER_WORKERS,
) -> SchedulerReport:
    """Push up to `limit` due subscriptions. The due index is read a page at a time and each page's pushes start
    at once, so the first results go out while later pages are still being read."""
    store, records = store or SubscriptionStore(), records or RecordStore()
    push_now = enqueue or _engine_enqueue()
    now = clock.epoch()
    report = SchedulerReport()
    record_sets: dict[str, RecordSet] = {}

    def push(subscription: Subscription) -> str | None:
        if not store.claim_push(subscription, schedule.next_due(now, subscription.definition.get("schedule")), now):
            return None  # another run took it, or it changed since it was read
        return _push_one(store, subscription, record_sets[subscription.platform], push_now, now)

    due_refs = store.due_refs(clock.iso(now), limit=limit)
    pushes: list[Future[str | None]] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for page in _pages(islice(due_refs, limit), PAGE_SIZE):
            for subscription in store.many(page):
                definition_schedule = subscription.definition.get("schedule")
                if not subscription.pushes:
                    store.unschedule(subscription)
                    report.unscheduled += 1
                elif not schedule.pushes_on(now, definition_schedule):
                    store.claim_push(subscription, schedule.next_due(now, definition_schedule), now)
                    report.rescheduled += 1
                else:
                    if subscription.platform not in record_sets:
                        record_sets[subscription.platform] = RecordSet.load(subscription.platform, records)
                    # Each push in a copy of the invocation's context, which a pool thread lacks.
                    pushes.append(pool.submit(contextvars.copy_context().run, push, subscription))
        for future in pushes:
            delivery_id = future.result()
            if delivery_id:
                report.enqueued += 1
                report.delivery_ids.append(delivery_id)
            elif delivery_id == "":
                report.failed += 1
    return report


def _pages(refs: Iterator[str], size: int) -> Iterator[list[str]]:
    while page := list(islice(refs, size)):
        yield page


def _push_one(
    store: SubscriptionStore, subscription: Subscription, record_set: RecordSet, enqueue: Enqueue, now: float
) -> str:
    """Enqueue one push; answers its delivery id, or "" when it could not be made (recorded on the status)."""
    from pollgate.webhooks import PayloadTooLarge, WebhookTarget

    matched = record_set.select(subscription.definition)
    if len(matched) > MAX_LIMIT:
        reason = f"The return count of {len(matched)} has exceeded object return limit of {MAX_LIMIT}."
        store.record_trigger(
            subscription.ref, last_triggered=scheduled_failure(now), webhook_status=webhook_failure(reason, now)
        )
        return ""
    webhook = subscription.definition["webhook"]
    target = WebhookTarget(url=webhook["uri"], secret=subscription.signing_secret, auth_header=auth_header(webhook))
    try:
        return enqueue(
            owner_kind=OWNER_KIND,
            owner_id=subscription.ref,
            tenant=TENANT,
            target=target,
            payload=results_document(subscription, record_set, matched, divider=False),
            event_type=EVENT_TYPE,
        )
    except (PayloadTooLarge, ValueError) as error:
        store.record_trigger(
            subscription.ref,
            last_triggered=scheduled_failure(now),
            webhook_status=webhook_failure(f"The push could not be sent: {error}.", now),
        )
        return ""
    except (ClientError, BotoCoreError):
        # Not pushed and not the subscription's fault: due again now, so the next run tries it again.
        logger.exception("could not enqueue a push; it stays due", extra={"subscriptionRef": subscription.ref})
        store.due_again(subscription.ref, now)
        return ""


# ---------------------------------------------------------------------------------------------- outcomes


class Outcome(Protocol):
    """The fields of the engine's DeliveryOutcome this face reads."""

    @property
    def owner_id(self) -> str: ...
    @property
    def succeeded(self) -> bool: ...
    @property
    def final(self) -> bool: ...
    @property
    def gone(self) -> bool: ...
    @property
    def status_code(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def at(self) -> str: ...
    @property
    def next_attempt_at(self) -> str | None: ...
    @property
    def disable_reason(self) -> str | None: ...


def describe(outcome: Outcome) -> str:
    answered = f"HTTP {outcome.status_code}" if outcome.status_code is not None else (outcome.error or "no answer")
    if outcome.succeeded:
        return f"{answered}."
    if outcome.gone:
        return f"{answered}: the receiver is gone and the webhook was deactivated."
    if outcome.disable_reason:
        return f"{answered}. {outcome.disable_reason}"
    if outcome.error and outcome.status_code is not None:
        answered = f"{answered} ({outcome.error})"
    if not outcome.final and outcome.next_attempt_at:
        return f"{answered}; retrying at {java_date(epoch_of_iso(outcome.next_attempt_at))}."
    return f"{answered}."


def record_outcome(outcome: Outcome, store: SubscriptionStore | None = None) -> None:
    """The engine calls this after every attempt (possibly more than once): success and final failure set
    lastTriggered; every attempt sets webHookStatus; 410 takes the subscription off the push schedule.
    An outcome older than the one already recorded is ignored, so a late replay never overwrites a newer one."""
    store = store or SubscriptionStore()
    at = epoch_of_iso(outcome.at)
    reason = describe(outcome)
    if outcome.succeeded:
        store.record_trigger(
            outcome.owner_id,
            last_triggered=scheduled_success(at),
            webhook_status=webhook_success(reason, at),
            outcome_at=outcome.at,
        )
    elif outcome.final:
        store.record_trigger(
            outcome.owner_id,
            last_triggered=scheduled_failure(at),
            webhook_status=webhook_failure(reason, at),
            disable_webhook=outcome.gone or bool(outcome.disable_reason),
            outcome_at=outcome.at,
        )
    else:
        store.record_trigger(outcome.owner_id, webhook_status=webhook_failure(reason, at), outcome_at=outcome.at)


# ---------------------------------------------------------------------------------------------- deliveries


class DeliveryList(Model):
    """A subscription's push attempts, as the webhook engine recorded them (ours, not the vendor's)."""

    attempts: list[AttemptRecord] = Field(description="Every recorded push attempt, newest first")


def list_deliveries(
    platform: str, ref: str, caller: Caller, *, limit: int = 100, store: SubscriptionStore | None = None
) -> DeliveryList:
    from pollgate.webhooks import list_attempts

    subscription = visible(ref, platform, caller, store)
    return DeliveryList(attempts=list_attempts(OWNER_KIND, subscription.ref, TENANT, limit))


def resend(
    platform: str,
    ref: str,
    delivery_id: str,
    caller: Caller,
    store: SubscriptionStore | None = None,
    list_attempts: Callable[..., list[Any]] | None = None,
) -> str:
    """Send a failed push again (a new delivery of the same document); only finished, failed ones qualify."""
    from pollgate.webhooks import DeliveryNotFound, resend_delivery
    from pollgate.webhooks import list_attempts as engine_list_attempts

    subscription = visible(ref, platform, caller, store)
    if not subscription.changeable_by(caller):
        raise Invalid("Only administrators can re-send pushes of global subscriptions.")
    attempts = [
        a
        for a in (list_attempts or engine_list_attempts)(OWNER_KIND, subscription.ref, TENANT, 1000)
        if a.deliveryId == delivery_id
    ]
    if not attempts:
        raise NotFound(f"Delivery {delivery_id} was not found.")
    if any(a.statusCode is not None and 200 <= a.statusCode < 300 and a.error is None for a in attempts):
        raise Invalid(f"Delivery {delivery_id} succeeded; only failed pushes can be re-sent.")
    if not any(a.final for a in attempts):
        raise Invalid(f"Delivery {delivery_id} is still being retried; re-send it once it has failed.")
    try:
        return resend_delivery(OWNER_KIND, subscription.ref, TENANT, delivery_id)
    except DeliveryNotFound:
        raise NotFound(f"Delivery {delivery_id} was not found.") from None
