"""Deliveries and their attempts in the single table, kept under the owner so one query lists them (their keys:
pollgate/items.py).

- delivery   the small state item every move rewrites: attempts made, state, lease, last outcome, due fields
- content    what never changes, written once at enqueue: target, body (zlib; in S3 when too large for an
             item), schedule, event type
- attempt    one per POST made, sorted by time
- endpoint   WEBHOOK#<ownerKind>#<tenant>#<ownerId> / ENDPOINT: the owner's endpoint's health, {failingSince}, while
             its attempts have all failed since a success (`endpoint_key`; read per attempt, written on a change)

DynamoDB bills a write by the whole item it leaves (per started KB), so the payload lives apart from the state:
a claim or a state move writes well under 1 KB however large the payload. Both items share the key prefix
DELIVERY#<deliveryId>, so one query reads them together.

A delivery not yet final is always in the `due` index (category WEBHOOK): at its next attempt when no queue
message carries it, or a grace period later when one does, or at the end of an attempt's lease. The retrier
re-queues whatever is overdue, so a lost message or a crashed attempt never loses a delivery.
"""

from __future__ import annotations

import dataclasses
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pollgate import aws, clock, items
from pollgate.settings import get_settings
from pollgate.store import Item, Key, Table, due_partition
from pollgate.webhooks.models import AttemptRecord, RetrySchedule, WebhookTarget

DUE_CATEGORY = items.WEBHOOK_DUE
RECORD_RETENTION_SECONDS = 30 * 86_400  # a schedule spans ~28 h; records stay a month for the owner to list
# DynamoDB items hold 400 KB; a compressed body inline must leave room for the rest of the delivery record.
MAX_INLINE_BODY_BYTES = 300_000
# Larger bodies go to the payload bucket, up to this size uncompressed: a batch holds ten in memory at once.
MAX_BODY_BYTES = 10 * 1024 * 1024
PAYLOAD_KEY_PREFIX = "webhook-payloads/"

DeliveryState = Literal["scheduled", "succeeded", "failed", "gone"]


ENDPOINT_SK = "ENDPOINT"


def endpoint_key(owner_kind: str, tenant: str, owner_id: str) -> Key:
    """The endpoint health item of one owner (a subscription's webhook, a listener), in its deliveries' partition."""
    return Key(items.webhook_owner(owner_kind, tenant, owner_id), ENDPOINT_SK)


class DeliveryExists(ValueError):
    """A delivery with that id was created before (a recovery's re-send made again by a retried task)."""


class PayloadTooLarge(ValueError):
    """The payload, compressed, does not fit in a delivery record."""


@dataclass(frozen=True)
class DeliveryRef:
    """Names one delivery; what a queue message and the due index carry."""

    owner_kind: str
    tenant: str
    owner_id: str
    delivery_id: str

    @property
    def owner(self) -> str:
        """The partition of the owner's deliveries and attempts."""
        return items.webhook_owner(self.owner_kind, self.tenant, self.owner_id)

    @property
    def key(self) -> Key:
        return items.delivery(self.owner, self.delivery_id)

    @property
    def content_key(self) -> Key:
        return items.delivery_content(self.owner, self.delivery_id)

    @classmethod
    def from_key(cls, key: Key) -> DeliveryRef:
        return cls(*items.delivery_of(key))


@dataclass(frozen=True)
class Delivery:
    ref: DeliveryRef
    event_type: str
    target: WebhookTarget
    inline_body: bytes | None  # compressed; None when the body is in the payload bucket under payload_key
    schedule: RetrySchedule
    attempts: int
    state: DeliveryState
    next_attempt_at: float | None
    created_at: str
    lease_until: float | None = None
    last_outcome: dict[str, Any] | None = None
    outcome_handled: int = 0
    resent_from: str | None = None
    due_at: str | None = None
    payload_key: str | None = None
    message_id: str = ""  # the webhook-id it is sent with ("" = its own id)
    subject: str = ""

    @property
    def webhook_id(self) -> str:
        return self.message_id or self.ref.delivery_id

    @property
    def final(self) -> bool:
        return self.state != "scheduled"

    @property
    def outcome_pending(self) -> bool:
        """An attempt was recorded but its owner's handler has not (yet) returned."""
        return self.last_outcome is not None and self.outcome_handled < self.attempts

    def leased(self, now: float) -> bool:
        return self.lease_until is not None and self.lease_until > now

    @classmethod
    def from_items(cls, state: Item, content: Item) -> Delivery:
        """From the delivery's state item and its content item."""
        auth = content.get("authHeader")
        raw_body: Any = content.get("body")  # a boto3 Binary
        return cls(
            ref=DeliveryRef.from_key(Key(state["pk"], state["sk"])),
            event_type=content.get("eventType", ""),
            target=WebhookTarget(content["url"], content["secret"], (auth[0], auth[1]) if auth else None),
            inline_body=None if raw_body is None else bytes(getattr(raw_body, "value", raw_body)),
            schedule=RetrySchedule(tuple(content.get("delays", [])), float(content.get("jitter", 0))),
            attempts=int(state.get("attempts", 0)),
            state=state["state"],
            next_attempt_at=float(state["nextAttemptAt"]) if state.get("nextAttemptAt") is not None else None,
            created_at=content["createdAt"],
            lease_until=float(state["leaseUntil"]) if state.get("leaseUntil") is not None else None,
            last_outcome=state.get("lastOutcome"),
            outcome_handled=int(state.get("outcomeHandled", 0)),
            resent_from=content.get("resentFrom"),
            due_at=state.get("dueAt"),
            payload_key=content.get("payloadKey"),
            message_id=content.get("messageId") or "",
            subject=content.get("subject") or "",
        )


class DeliveryStore:
    """Every write that moves a delivery on is conditional, so two consumers never make the same attempt."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def create(
        self,
        ref: DeliveryRef,
        *,
        event_type: str,
        target: WebhookTarget,
        body: bytes,
        schedule: RetrySchedule,
        due_at: float,
        resent_from: str | None = None,
        message_id: str = "",
        subject: str = "",
    ) -> Delivery:
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the payload is {len(body)} bytes; webhooks carry at most {MAX_BODY_BYTES}")
        compressed = zlib.compress(body, 6)
        payload_key = None
        if len(compressed) > MAX_INLINE_BODY_BYTES:
            bucket = get_settings().webhook_payload_bucket
            if not bucket:
                raise PayloadTooLarge(
                    f"the payload is {len(compressed)} bytes compressed; at most "
                    f"{MAX_INLINE_BODY_BYTES} fit in a delivery record and no payload bucket is set"
                )
            payload_key = f"{PAYLOAD_KEY_PREFIX}{ref.delivery_id}"
            aws.client("s3").put_object(Bucket=bucket, Key=payload_key, Body=compressed)
        now = clock.epoch()
        expires_at = int(now) + RECORD_RETENTION_SECONDS
        content: dict[str, Any] = {
            "eventType": event_type,
            "url": target.url,
            "secret": target.secret,
            "authHeader": list(target.auth_header) if target.auth_header else None,
            "body": None if payload_key else compressed,
            "payloadKey": payload_key,
            "delays": list(schedule.delays),
            "jitter": schedule.jitter,
            "createdAt": clock.iso(now),
            "resentFrom": resent_from,
            "expiresAt": expires_at,
        }
        if message_id and message_id != ref.delivery_id:
            content["messageId"] = message_id
        if subject:
            content["subject"] = subject
        state: dict[str, Any] = {
            "deliveryId": ref.delivery_id,
            "ownerKind": ref.owner_kind,
            "tenant": ref.tenant,
            "ownerId": ref.owner_id,
            "attempts": 0,
            "state": "scheduled",
            "nextAttemptAt": now,
            "expiresAt": expires_at,
            "duePk": due_partition(DUE_CATEGORY, ref.delivery_id),
            "dueAt": clock.iso(due_at),
        }
        # Content first: a state item (what the queue and the due index lead to) never lacks its content.
        # A crash between the two leaves only content nobody refers to, which expires with the rest.
        if not self.table.put(ref.content_key, content, condition="attribute_not_exists(pk)") or not self.table.put(
            ref.key, state, condition="attribute_not_exists(pk)"
        ):
            raise DeliveryExists(f"delivery {ref.delivery_id} exists already")  # a new random id: never
        return Delivery.from_items({**state, **ref.key.attributes()}, content)

    def body(self, delivery: Delivery) -> bytes:
        """The delivery's body as it is signed and sent."""
        if delivery.inline_body is not None:
            return zlib.decompress(delivery.inline_body)
        answer = aws.client("s3").get_object(Bucket=get_settings().webhook_payload_bucket, Key=delivery.payload_key)
        return zlib.decompress(answer["Body"].read())

    def get(self, ref: DeliveryRef, *, consistent: bool = True) -> Delivery | None:
        """The delivery, state and content, in one query (they share the key prefix)."""
        found = {
            Key(item["pk"], item["sk"]): item
            for item in self.table.query(ref.owner, ref.key.sk, consistent=consistent, limit=2)
        }
        state, content = found.get(ref.key), found.get(ref.content_key)
        if state is not None and content is None and "url" in state:
            content = state  # stored before content had an item of its own: the one item holds both
        return Delivery.from_items(state, content) if state and content else None

    def claim(self, delivery: Delivery, *, lease_seconds: float, grace_seconds: float) -> str | None:
        """Take the next attempt for `lease_seconds`; None when another consumer holds it or made it.

        While leased the delivery stays due, at the latest at the lease's end plus grace: a consumer that dies
        mid-attempt leaves it to the queue's redelivery or, failing that, the retrier (which passes over it
        until the lease has lapsed). The due time is moved only when the lease would outlast it: an attempt
        on time is already due a grace period after its time, so its claim writes no index entry.
        """
        now = clock.epoch()
        token = uuid.uuid4().hex
        expression = "SET leaseToken = :token, leaseUntil = :until"
        values: dict[str, Any] = {
            ":token": token,
            ":until": now + lease_seconds,
            ":now": now,
            ":scheduled": "scheduled",
            ":made": delivery.attempts,
        }
        if delivery.due_at is None or delivery.due_at < clock.iso(now + lease_seconds):
            expression += ", duePk = :duePk, dueAt = :dueAt"
            values[":duePk"] = due_partition(DUE_CATEGORY, delivery.ref.delivery_id)
            values[":dueAt"] = clock.iso(now + lease_seconds + grace_seconds)
        claimed = self.table.update_if(
            delivery.ref.key,
            expression,
            condition="#state = :scheduled AND attempts = :made "
            "AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
            names={"#state": "state"},
            values=values,
        )
        return token if claimed else None

    def add_attempt(self, delivery: Delivery, record: AttemptRecord) -> None:
        """Keep one attempt's record (a POST was made: it is listed even if the delivery is never moved on)."""
        ref = delivery.ref
        self.table.put(
            items.delivery_attempt(ref.owner, record.at, ref.delivery_id, record.attempt),
            {
                **dataclasses.asdict(record),
                "expiresAt": int(clock.epoch()) + RECORD_RETENTION_SECONDS,
            },
        )

    def move_on(
        self,
        delivery: Delivery,
        token: str,
        attempt: int,
        *,
        state: DeliveryState,
        next_attempt_at: float | None,
        due_at: float,
        outcome: Mapping[str, Any],
        handled: bool,
    ) -> bool:
        """After attempt number `attempt` (its record kept first): its outcome, the next state and due time, the
        lease given up, in one conditional write of the small state item; False when the lease was lost.

        No transaction with the record: a crash between the two leaves the delivery leased at its previous
        attempt, due again once the lease lapses, and the attempt is made once more (and recorded again: the
        receiver did get both POSTs); a delivery is never moved on without its record.
        `handled`: the owner's handler has already returned for this attempt, so the outcome is not left
        pending and a final delivery leaves the due index in this same write.
        """
        ref = delivery.ref
        values: dict[str, Any] = {
            ":attempts": attempt,
            ":state": state,
            ":outcome": dict(outcome),
            ":token": token,
            ":now": clock.iso(),
        }
        assignments = ["attempts = :attempts", "#state = :state", "lastOutcome = :outcome", "updatedAt = :now"]
        removals = ["leaseToken", "leaseUntil"]
        if next_attempt_at is None:
            removals.append("nextAttemptAt")
        else:
            assignments.append("nextAttemptAt = :next")
            values[":next"] = next_attempt_at
        if handled:
            assignments.append("outcomeHandled = :attempts")
        if handled and state != "scheduled":
            removals += ["duePk", "dueAt"]  # final and handed over: nothing is owed any more
        else:
            assignments += ["duePk = :duePk", "dueAt = :dueAt"]
            values[":duePk"] = due_partition(DUE_CATEGORY, ref.delivery_id)
            values[":dueAt"] = clock.iso(due_at)
        return self.table.update_if(
            ref.key,
            f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
            condition="leaseToken = :token",
            names={"#state": "state"},
            values=values,
        )

    def mark_handled(self, delivery: Delivery, attempt: int) -> None:
        """The owner's handler returned for `attempt` (unless noted already, or the delivery moved on since); a final
        delivery then leaves the due index for good."""
        expression = "SET outcomeHandled = :n" + (" REMOVE duePk, dueAt" if delivery.final else "")
        self.table.update_if(
            delivery.ref.key,
            expression,
            condition="attempts = :n AND (attribute_not_exists(outcomeHandled) OR outcomeHandled < :n)",
            values={":n": attempt},
        )

    def postpone(self, delivery: Delivery, seen_due_at: str, until: float) -> bool:
        """The retrier's claim on an overdue delivery: push dueAt on, once, before re-queueing it."""
        return self.table.update_if(
            delivery.ref.key,
            "SET dueAt = :until",
            condition="dueAt = :seen",
            values={":until": clock.iso(until), ":seen": seen_due_at},
        )

    def settle(self, delivery: Delivery) -> None:
        """Take a final delivery out of the due index (one not final is left as it is)."""
        self.table.update_if(
            delivery.ref.key,
            "REMOVE duePk, dueAt",
            condition="#state <> :scheduled",
            names={"#state": "state"},
            values={":scheduled": "scheduled"},
        )

    def overdue(self, *, limit: int) -> Iterator[DeliveryRef]:
        for key in self.table.due(DUE_CATEGORY, clock.iso(), limit=limit):
            yield DeliveryRef.from_key(key)

    def failing_since(self, ref: DeliveryRef) -> float | None:
        """Since when every attempt to the owner's endpoint has failed (None: its latest attempt succeeded)."""
        item = self.table.get(endpoint_key(ref.owner_kind, ref.tenant, ref.owner_id))
        return float(item["failingSince"]) if item and item.get("failingSince") is not None else None

    def note_failure(self, ref: DeliveryRef, at: float) -> float:
        """The endpoint failed at `at`: it has been failing since then unless it was already; answers since when."""
        item = self.table.update(
            endpoint_key(ref.owner_kind, ref.tenant, ref.owner_id),
            "SET failingSince = if_not_exists(failingSince, :at)",
            values={":at": at},
        )
        return float(item.get("failingSince", at))

    def note_success(self, ref: DeliveryRef) -> None:
        self.table.update_if(
            endpoint_key(ref.owner_kind, ref.tenant, ref.owner_id),
            "REMOVE failingSince",
            condition="attribute_exists(failingSince)",
        )

    def attempts(self, owner_kind: str, tenant: str, owner_id: str, *, limit: int) -> list[AttemptRecord]:
        """Newest first."""
        recorded = self.table.query(
            items.webhook_owner(owner_kind, tenant, owner_id), items.ATTEMPT_PREFIX, limit=limit, descending=True
        )
        return [AttemptRecord.from_item(item) for item in recorded]
