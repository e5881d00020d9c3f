"""The webhook engine: record a delivery, attempt it from the queue, record every attempt, retry on schedule.

Life of a delivery (see docs/webhooks.md):
1. `enqueue_delivery` stores it (state scheduled, due a grace period from now) and sends a queue message.
2. The delivery consumer takes the message, claims the attempt (a conditional write with a lease, so no
   two consumers make the same attempt), POSTs once, keeps the attempt's record, tells the owner's outcome
   handler, then moves the delivery on (one conditional write under the lease, which also says whether
   the handler returned).
3. A retry within 15 minutes goes back on the queue with DelaySeconds; a longer one waits in the `due`
   index for the retrier. Either way the delivery stays in the index, so nothing is lost.
4. The owner's outcome handler runs after every attempt; until it returns, the outcome stays pending on the
   delivery and is handed to the handler again. A consumer that dies after the POST but before the
   delivery moved on leaves it leased at its previous attempt: the attempt is made (and told) again once
   the lease lapses, which receivers de-duplicate on `webhook-id` and handlers must tolerate anyway.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pollgate import aws, clock, observability
from pollgate.settings import get_settings
from pollgate.store import Table
from pollgate.webhooks.models import (
    MAX_RETRY_AFTER_SECONDS,
    SVIX_SCHEDULE,
    AttemptRecord,
    DeliveryOutcome,
    RetrySchedule,
    WebhookTarget,
)
from pollgate.webhooks.signing import secret_key, signature_headers
from pollgate.webhooks.ssrf import AllowList
from pollgate.webhooks.store import Delivery, DeliveryRef, DeliveryState, DeliveryStore
from pollgate.webhooks.transport import PostResult, post

logger = Logger(child=True)

# SQS can hold a message back at most 15 minutes; longer waits are the retrier's job.
MAX_QUEUE_DELAY_SECONDS = 900
# Longer than the delivery function's timeout (60 s): a lease lapses only when its holder is gone.
LEASE_SECONDS = 90.0
# How long past its time a queued attempt may be before the retrier re-queues it (queue messages come first).
DUE_GRACE_SECONDS = 120.0
# An attempt made this long after it was due is logged (a lost or stuck queue message the retrier caught).
LATE_ATTEMPT_SECONDS = 30.0
# A queue message may arrive this early (DelaySeconds is whole seconds) and still count as on time.
EARLY_TOLERANCE_SECONDS = 1.0

_SIGNATURE_HEADERS = {
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "connection",
}
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")

OutcomeHandler = Callable[[DeliveryOutcome], None]
_HANDLERS: dict[str, OutcomeHandler] = {}
# (tenant, owner id) -> the secrets to sign with now (current first), or None when the owner is gone
SecretResolver = Callable[[str, str], Sequence[str] | None]
_SECRET_RESOLVERS: dict[str, SecretResolver] = {}


class DeliveryNotFound(LookupError):
    """No such delivery under that owner (never made, or expired)."""


def register_outcome_handler(owner_kind: str, handler: OutcomeHandler) -> None:
    """`handler` is called after every attempt of this owner kind's deliveries. It must be idempotent: it can be
    called again with the same outcome when an earlier call raised or its consumer died."""
    _HANDLERS[owner_kind] = handler


def register_secret_resolver(owner_kind: str, resolver: SecretResolver) -> None:
    """`resolver` answers the secrets an owner's deliveries are signed with at each attempt, so a rotated secret
    signs every attempt from then on (retries and re-sends of older deliveries included), and the replaced one
    beside it while its overlap lasts. Without one, or when it answers None, the secret given at enqueue signs."""
    _SECRET_RESOLVERS[owner_kind] = resolver


def signing_secrets(ref: DeliveryRef, enqueued_with: str) -> list[str]:
    resolver = _SECRET_RESOLVERS.get(ref.owner_kind)
    if resolver is not None:
        try:
            found = resolver(ref.tenant, ref.owner_id)
        except Exception:  # the secret given at enqueue still signs: a receiver may refuse it, we do not fail
            logger.exception(
                "secret resolver failed; signing with the secret given at enqueue",
                extra={"ownerKind": ref.owner_kind, "deliveryId": ref.delivery_id},
            )
            found = None
        if found:
            return list(found)
    return [enqueued_with]


def outcome_handler(owner_kind: str) -> OutcomeHandler | None:
    """The handler registered for this owner kind (pollgate.registry.register_outcome_handlers), if any."""
    return _HANDLERS.get(owner_kind)


def new_delivery_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


# ----------------------------------------------------------------------------------------- enqueue


def enqueue_delivery(
    *,
    owner_kind: str,
    owner_id: str,
    tenant: str,
    target: WebhookTarget,
    payload: Mapping[str, Any],
    event_type: str,
    schedule: RetrySchedule = SVIX_SCHEDULE,
    store: DeliveryStore | None = None,
    subject: str = "",
) -> str:
    """Record a delivery (its id is the `webhook-id` header) and hand it to the delivery queue; returns the id.

    Never blocks on the receiver: the POST happens in the delivery consumer. A URL the SSRF guard refuses is
    not an error here: its first attempt is recorded as refused, and the owner's handler hears of it.
    `subject` (at most 256 characters) is handed back on every outcome: what the delivery is about, for the owner.
    Raises ValueError for a malformed secret or auth header or a payload that is not JSON (NaN included),
    PayloadTooLarge for a payload that cannot be stored.
    """
    body = _json_body(payload)
    if len(subject) > 256:
        raise ValueError("a delivery's subject is at most 256 characters")
    return _enqueue(
        DeliveryRef(owner_kind, tenant, owner_id, new_delivery_id()),
        target,
        body,
        event_type,
        schedule,
        store or DeliveryStore(),
        subject=subject,
    )


def resend_delivery(
    owner_kind: str,
    owner_id: str,
    tenant: str,
    delivery_id: str,
    store: DeliveryStore | None = None,
    target: WebhookTarget | None = None,
    new_id: str | None = None,
) -> str:
    """A new delivery (new id, fresh schedule) of the same payload to the same target (or `target`, the owner's
    current one), sent with the original's `webhook-id` so receivers de-duplicate it; returns its id. Its attempts
    are recorded with `resentFrom`."""
    store = store or DeliveryStore()
    original = store.get(DeliveryRef(owner_kind, tenant, owner_id, delivery_id))
    if original is None:
        raise DeliveryNotFound(delivery_id)
    return _enqueue(
        DeliveryRef(owner_kind, tenant, owner_id, new_id or new_delivery_id()),
        target or original.target,
        store.body(original),
        original.event_type,
        original.schedule,
        store,
        resent_from=delivery_id,
        message_id=original.webhook_id,
        subject=original.subject,
    )


# A test event's one POST: short enough for the API function that waits for it (10 s timeout).
TEST_EVENT_TIMEOUT_SECONDS = 5.0
# Every test event's type ends so (e.g. densify.subscription.test): recoveries pass over them.
TEST_EVENT_SUFFIX = ".test"


@dataclass(frozen=True)
class TestEventResult:
    delivery_id: str
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def send_test_event(
    *,
    owner_kind: str,
    owner_id: str,
    tenant: str,
    target: WebhookTarget,
    payload: Mapping[str, Any],
    event_type: str,
    secrets: Sequence[str] | None = None,
    store: DeliveryStore | None = None,
) -> TestEventResult:
    """POST a sample payload now, once (no retries), and record it like any delivery: a delivery with one attempt,
    listed with the owner's others. The owner's outcome handler is not told (a test changes no status)."""
    if not event_type.endswith(TEST_EVENT_SUFFIX):
        raise ValueError(f"a test event's type ends with {TEST_EVENT_SUFFIX!r}")
    store = store or DeliveryStore()
    body = _json_body(payload)
    secret_key(target.secret)
    ref = DeliveryRef(owner_kind, tenant, owner_id, new_delivery_id())
    delivery = store.create(
        ref,
        event_type=event_type,
        target=target,
        body=body,
        schedule=RetrySchedule(()),
        due_at=clock.epoch() + DUE_GRACE_SECONDS,
    )
    token = store.claim(delivery, lease_seconds=LEASE_SECONDS, grace_seconds=DUE_GRACE_SECONDS)
    if token is None:  # a new random id nobody else knows: never
        raise RuntimeError(f"could not claim test delivery {ref.delivery_id}")
    started_at = clock.iso()
    result = deliver_once(
        target, body, ref.delivery_id, timeout=TEST_EVENT_TIMEOUT_SECONDS, secrets=secrets or [target.secret]
    )
    succeeded: bool = result.succeeded
    record = AttemptRecord(
        deliveryId=ref.delivery_id,
        attempt=1,
        at=started_at,
        url=target.url,
        statusCode=result.status_code,
        error=result.error,
        durationMs=result.duration_ms,
        responseBody=result.body,
        final=True,
        eventType=event_type,
        webhookId=ref.delivery_id,
    )
    store.add_attempt(delivery, record)
    state: DeliveryState = "succeeded" if succeeded else "gone" if result.status_code == 410 else "failed"
    outcome = DeliveryOutcome(
        delivery_id=ref.delivery_id,
        owner_kind=owner_kind,
        owner_id=owner_id,
        tenant=tenant,
        attempt=1,
        succeeded=succeeded,
        final=True,
        gone=result.status_code == 410,
        status_code=result.status_code,
        error=result.error,
        at=started_at,
        event_type=event_type,
    )
    store.move_on(
        delivery,
        token,
        1,
        state=state,
        next_attempt_at=None,
        due_at=clock.epoch(),
        outcome=_outcome_to_keep(outcome),
        handled=True,
    )
    logger.info(
        "webhook test event",
        extra={"deliveryId": ref.delivery_id, "statusCode": result.status_code, "error": result.error},
    )
    return TestEventResult(ref.delivery_id, succeeded, result.status_code, result.error, result.duration_ms)


def list_attempts(
    owner_kind: str, owner_id: str, tenant: str, limit: int = 100, store: DeliveryStore | None = None
) -> list[AttemptRecord]:
    """Every recorded attempt of this owner's deliveries, newest first (one query)."""
    return (store or DeliveryStore()).attempts(owner_kind, tenant, owner_id, limit=max(1, min(limit, 1000)))


def _enqueue(
    ref: DeliveryRef,
    target: WebhookTarget,
    body: bytes,
    event_type: str,
    schedule: RetrySchedule,
    store: DeliveryStore,
    resent_from: str | None = None,
    message_id: str = "",
    subject: str = "",
) -> str:
    secret_key(target.secret)  # raises ValueError now rather than on every attempt
    if target.auth_header is not None:
        name, value = target.auth_header
        if not _HEADER_NAME.match(name) or name.lower() in _SIGNATURE_HEADERS or "\r" in value or "\n" in value:
            raise ValueError(f"{name!r} cannot be a webhook's auth header")
    # Due a grace period from now: the queue message comes first, the retrier only if it was lost.
    store.create(
        ref,
        event_type=event_type,
        target=target,
        body=body,
        schedule=schedule,
        due_at=clock.epoch() + DUE_GRACE_SECONDS,
        resent_from=resent_from,
        message_id=message_id,
        subject=subject,
    )
    send_to_queue(ref, attempt=1, delay=0)
    return ref.delivery_id


def _json_body(payload: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(
            payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
        ).encode()
    except TypeError as error:
        raise ValueError(f"the payload is not JSON: {error}") from error


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# ------------------------------------------------------------------------------------------- queue


@dataclass(frozen=True)
class DeliveryMessage:
    """A queue message: make attempt number `attempt` of this delivery (or finish handling it)."""

    ref: DeliveryRef
    attempt: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "ownerKind": self.ref.owner_kind,
                "tenant": self.ref.tenant,
                "ownerId": self.ref.owner_id,
                "deliveryId": self.ref.delivery_id,
                "attempt": self.attempt,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DeliveryMessage:
        data = json.loads(text)
        ref = DeliveryRef(str(data["ownerKind"]), str(data["tenant"]), str(data["ownerId"]), str(data["deliveryId"]))
        return cls(ref, int(data["attempt"]))


def send_to_queue(ref: DeliveryRef, *, attempt: int, delay: float) -> bool:
    """Best effort: False (logged) when the message could not be sent; the due index still holds the delivery."""
    queue_url = get_settings().webhook_queue_url
    if not queue_url:
        logger.error(
            "WEBHOOK_QUEUE_URL is not set; the retrier will pick the delivery up", extra={"deliveryId": ref.delivery_id}
        )
        return False
    try:
        aws.client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=DeliveryMessage(ref, attempt).to_json(),
            DelaySeconds=max(0, min(MAX_QUEUE_DELAY_SECONDS, math.ceil(delay))),
        )
    except (ClientError, BotoCoreError) as error:
        logger.warning(
            "could not queue a delivery; the retrier will pick it up",
            extra={"deliveryId": ref.delivery_id, "error": type(error).__name__},
        )
        return False
    return True


# ----------------------------------------------------------------------------------------- attempt


def deliver_once(
    target: WebhookTarget,
    body: bytes,
    message_id: str,
    *,
    timeout: float | None = None,
    allow: AllowList | None = None,
    secrets: Sequence[str] | None = None,
) -> PostResult:
    """Sign (with `secrets`, else the target's secret) and POST once, recording nothing: the primitive every
    attempt uses."""
    settings = get_settings()
    headers = dict([target.auth_header]) if target.auth_header else {}
    # Signed at send time, every attempt: receivers refuse timestamps more than 5 minutes old.
    headers.update(signature_headers(list(secrets or [target.secret]), message_id, int(clock.epoch()), body))
    return post(
        target.url,
        body,
        headers,
        timeout=settings.webhook_timeout_seconds if timeout is None else timeout,
        allow=allow if allow is not None else AllowList.parse(settings.webhook_allow_hosts),
    )


class OutcomeHandlerFailed(RuntimeError):
    """The owner's handler raised; the attempt is recorded and the outcome will be handed over again."""


def handle_message(message: DeliveryMessage, store: DeliveryStore | None = None) -> DeliveryOutcome | None:
    """Do what one queue message asks: make the attempt it names, if it is still due and nobody else is making it.

    Returns the outcome of the attempt made, or None when there was nothing to do (stale or early message,
    delivery already final, attempt claimed elsewhere). Raises OutcomeHandlerFailed after recording an
    attempt whose handler failed, so the message is retried and the handler called again.
    """
    store = store or DeliveryStore()
    delivery = store.get(message.ref)
    if delivery is None:
        logger.warning("no such delivery (expired?)", extra={"deliveryId": message.ref.delivery_id})
        return None
    now = clock.epoch()
    if delivery.outcome_pending and not delivery.leased(now):
        _hand_over(delivery, _pending_outcome(delivery), store)
    if delivery.final or message.attempt != delivery.attempts + 1:
        return None  # a duplicate or stale message: that attempt was made already
    wait = (delivery.next_attempt_at or now) - now
    if wait > EARLY_TOLERANCE_SECONDS:
        if wait <= MAX_QUEUE_DELAY_SECONDS:
            send_to_queue(delivery.ref, attempt=message.attempt, delay=wait)
        return None  # early (a retried message); a later message or the retrier makes the attempt
    token = store.claim(delivery, lease_seconds=LEASE_SECONDS, grace_seconds=DUE_GRACE_SECONDS)
    if token is None:
        return None
    late = -wait
    if late > LATE_ATTEMPT_SECONDS:
        logger.warning(
            "webhook attempt made late",
            extra={"deliveryId": delivery.ref.delivery_id, "attempt": message.attempt, "lateSeconds": round(late, 1)},
        )
    return _attempt(delivery, token, store)


def _attempt(delivery: Delivery, token: str, store: DeliveryStore) -> DeliveryOutcome | None:
    started_at = clock.iso()
    result = deliver_once(
        delivery.target,
        store.body(delivery),
        delivery.webhook_id,
        secrets=signing_secrets(delivery.ref, delivery.target.secret),
    )
    number = delivery.attempts + 1
    gone = result.status_code == 410
    succeeded: bool = result.succeeded
    disable_reason = _endpoint_health(delivery, succeeded, store)
    final = (
        succeeded or gone or result.refused or disable_reason is not None or number >= delivery.schedule.max_attempts
    )
    now = clock.epoch()
    delay = None if final else delivery.schedule.delay_after(number)
    if delay is not None and result.retry_after is not None:
        # Honour the receiver's Retry-After, within bounds: never sooner than it asks, but an ask longer than
        # an hour counts as an hour (our own schedule still applies when it is later).
        delay = max(delay, min(result.retry_after, MAX_RETRY_AFTER_SECONDS))
    next_at = None if delay is None else now + delay
    state: DeliveryState = "succeeded" if succeeded else "gone" if gone else "failed" if final else "scheduled"
    queued = next_at is not None and delay is not None and delay <= MAX_QUEUE_DELAY_SECONDS
    # Due again: a grace period after the next attempt if a queue message carries it, at it if not; a final
    # delivery stays due (for its handler) until the handler has returned.
    due_at = (next_at + DUE_GRACE_SECONDS) if queued and next_at else (next_at or now + DUE_GRACE_SECONDS)
    record = AttemptRecord(
        deliveryId=delivery.ref.delivery_id,
        attempt=number,
        at=started_at,
        url=delivery.target.url,
        statusCode=result.status_code,
        error=result.error,
        durationMs=result.duration_ms,
        responseBody=result.body,
        nextAttemptAt=clock.iso(next_at) if next_at else None,
        final=final,
        eventType=delivery.event_type,
        webhookId=delivery.webhook_id,
        resentFrom=delivery.resent_from,
    )
    outcome = DeliveryOutcome(
        delivery_id=delivery.ref.delivery_id,
        owner_kind=delivery.ref.owner_kind,
        owner_id=delivery.ref.owner_id,
        tenant=delivery.ref.tenant,
        attempt=number,
        succeeded=succeeded,
        final=final,
        gone=gone,
        status_code=result.status_code,
        error=result.error,
        at=started_at,
        event_type=delivery.event_type,
        next_attempt_at=record.nextAttemptAt,
        subject=delivery.subject,
        url=delivery.target.url,
        disable_reason=disable_reason,
    )
    store.add_attempt(delivery, record)
    # The owner hears before the delivery moves on, so that whether its handler returned goes into that one
    # write (no separate "handled" write); a handler that raised leaves the outcome pending there.
    handler_failure: OutcomeHandlerFailed | None = None
    try:
        _call_handler(outcome)
    except OutcomeHandlerFailed as failure:
        handler_failure = failure
    if not store.move_on(
        delivery,
        token,
        number,
        state=state,
        next_attempt_at=next_at,
        due_at=due_at,
        outcome=_outcome_to_keep(outcome),
        handled=handler_failure is None,
    ):
        logger.warning(
            "lease lost before the attempt was recorded; another consumer owns the delivery",
            extra={"deliveryId": delivery.ref.delivery_id, "attempt": number},
        )
        return None
    observability.webhook_attempt(succeeded)
    logger.info(
        "webhook attempt",
        extra={
            "deliveryId": delivery.ref.delivery_id,
            "attempt": number,
            "statusCode": result.status_code,
            "error": result.error,
            "durationMs": result.duration_ms,
            "final": final,
        },
    )
    # Queued after the owner has heard of this attempt, and queued even when its handler failed.
    if queued and delay is not None:
        send_to_queue(delivery.ref, attempt=number + 1, delay=delay)
    if handler_failure is not None:
        raise handler_failure
    return outcome


def _endpoint_health(delivery: Delivery, succeeded: bool, store: DeliveryStore) -> str | None:
    """Keep the endpoint's health (one read per attempt, a write only when it changes); answers why the endpoint is
    to be disabled when every attempt to it has failed for WEBHOOK_DISABLE_AFTER_DAYS, else None."""
    days = get_settings().webhook_disable_after_days
    try:
        since = store.failing_since(delivery.ref)
        if succeeded:
            if since is not None:
                store.note_success(delivery.ref)
            return None
        now = clock.epoch()
        if since is None:
            since = store.note_failure(delivery.ref, now)
    except (ClientError, BotoCoreError):  # health is advisory: the attempt itself is recorded all the same
        logger.warning("could not keep the endpoint's health", extra={"deliveryId": delivery.ref.delivery_id})
        return None
    if days and now - since >= days * 86_400:
        return (
            f"Disabled: every delivery failed for {days:g} days (since {clock.iso(since)}); "
            "re-enable it by replacing or registering it again."
        )
    return None


def reset_endpoint_health(owner_kind: str, tenant: str, owner_id: str, table: Table | None = None) -> None:
    """The owner re-enabled its endpoint (a PUT, a registration again): its failures so far no longer count."""
    DeliveryStore(table).note_success(DeliveryRef(owner_kind, tenant, owner_id, ""))


# What an outcome repeats of its delivery: left out of the copy kept on the delivery's state item, which every
# claim and move rewrites, so that it stays under 1 KB (write units are per started KB).
_OUTCOME_FIELDS_OF_THE_DELIVERY = ("delivery_id", "owner_kind", "owner_id", "tenant", "event_type", "subject", "url")


def _outcome_to_keep(outcome: DeliveryOutcome) -> dict[str, Any]:
    return {
        name: value
        for name, value in dataclasses.asdict(outcome).items()
        if name not in _OUTCOME_FIELDS_OF_THE_DELIVERY
    }


def _pending_outcome(delivery: Delivery) -> DeliveryOutcome:
    """The outcome kept on the delivery, whole again."""
    ref = delivery.ref
    return DeliveryOutcome(
        **{
            "delivery_id": ref.delivery_id,
            "owner_kind": ref.owner_kind,
            "owner_id": ref.owner_id,
            "tenant": ref.tenant,
            "event_type": delivery.event_type,
            "subject": delivery.subject,
            "url": delivery.target.url,
            **(delivery.last_outcome or {}),
        }
    )


def _hand_over(delivery: Delivery, outcome: DeliveryOutcome, store: DeliveryStore) -> None:
    """Give a recorded attempt's pending outcome to its owner again, and note that the handler returned."""
    _call_handler(outcome)
    store.mark_handled(delivery, outcome.attempt)


def _call_handler(outcome: DeliveryOutcome) -> None:
    """Raises OutcomeHandlerFailed when the owner's handler raised (no handler: the outcome is recorded only)."""
    handler = outcome_handler(outcome.owner_kind)
    if handler is None:
        logger.error(
            "no outcome handler registered for this owner kind; outcome recorded only",
            extra={"ownerKind": outcome.owner_kind, "deliveryId": outcome.delivery_id},
        )
        return
    try:
        handler(outcome)
    except Exception as error:
        logger.exception(
            "outcome handler failed; it will be called again",
            extra={"ownerKind": outcome.owner_kind, "deliveryId": outcome.delivery_id},
        )
        raise OutcomeHandlerFailed(outcome.delivery_id) from error


# ----------------------------------------------------------------------------------------- retrier

# A handler that keeps failing is given a final outcome again for this long, then the retrier stops trying
# (the attempts stay listed; the error log says so).
HANDOVER_GIVE_UP_SECONDS = 86_400.0


def _handover_expired(delivery: Delivery) -> bool:
    at = (delivery.last_outcome or {}).get("at")
    try:
        return at is not None and clock.epoch() - datetime.fromisoformat(at).timestamp() > HANDOVER_GIVE_UP_SECONDS
    except ValueError:
        return True


@dataclass
class RequeueReport:
    requeued: int = 0
    skipped: int = 0


def requeue_due_deliveries(*, limit: int = 100, store: DeliveryStore | None = None) -> RequeueReport:
    """The retrier's run: put every overdue delivery back on the queue (long retries, lost messages, crashed
    attempts, handlers still owed an outcome). Each is postponed first, so two retriers queue it once.
    `limit` is per shard of the due index: a run stays well inside the function's minute; the rest waits a run."""
    store = store or DeliveryStore()
    report = RequeueReport()
    for ref in store.overdue(limit=limit):
        delivery = store.get(ref)
        if delivery is None or delivery.due_at is None or delivery.leased(clock.epoch()):
            report.skipped += 1
            continue
        if delivery.final and (not delivery.outcome_pending or _handover_expired(delivery)):
            if delivery.outcome_pending:
                logger.error(
                    "gave up handing a final outcome to its owner's failing handler",
                    extra={"ownerKind": ref.owner_kind, "deliveryId": ref.delivery_id},
                )
            store.settle(delivery)  # finished (and handed over, or given up on): out of the index
            report.skipped += 1
            continue
        if not store.postpone(delivery, delivery.due_at, clock.epoch() + DUE_GRACE_SECONDS):
            report.skipped += 1
            continue
        # A final delivery is only here because its handler is owed the outcome: the message for the attempt
        # already made hands it over.
        attempt = delivery.attempts if delivery.final else delivery.attempts + 1
        wait = max(0.0, (delivery.next_attempt_at or 0) - clock.epoch()) if not delivery.final else 0.0
        if send_to_queue(ref, attempt=attempt, delay=wait):
            report.requeued += 1
    return report
