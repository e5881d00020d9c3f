"""What the webhook engine is given (targets, schedules) and what it reports back (outcomes, attempt records).

Plain dataclasses, no pydantic: the delivery and retry functions load this module at init, and pydantic was a
fifth of their cold start. The recovery request and view (pydantic models a face's routes validate) are in
pollgate.webhooks.views, loaded only when asked for by name here.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    pass

# Replies are kept up to this many bytes per attempt: enough to read a receiver's error, bounded item size.
MAX_KEPT_REPLY_BYTES = 20 * 1024
# A receiver's Retry-After is honoured up to this many seconds; a longer ask is cut to it.
MAX_RETRY_AFTER_SECONDS = 3600.0


@dataclass(frozen=True)
class WebhookTarget:
    """Where a delivery goes and how it proves itself."""

    url: str
    secret: str  # Standard Webhooks signing secret "whsec_<base64>"
    auth_header: tuple[str, str] | None = None  # e.g. ("Authorization", "Bearer x") from authType/authValue

    def __repr__(self) -> str:  # never print secrets into logs
        return f"WebhookTarget(url={self.url!r}, secret='***', auth_header={'***' if self.auth_header else None})"


@dataclass(frozen=True)
class RetrySchedule:
    """Delays between attempts: `delays[i]` seconds before attempt i + 2; len(delays) + 1 attempts in all."""

    delays: tuple[float, ...]
    jitter: float = 0.2  # each delay is drawn from [delay * (1 - jitter), delay * (1 + jitter)]

    def __post_init__(self) -> None:
        if not 0 <= self.jitter < 1 or any(d < 0 for d in self.delays):
            raise ValueError("delays must be >= 0 and 0 <= jitter < 1")

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, attempt: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after attempt number `attempt` (1-based) failed; None when it was the last."""
        if attempt >= self.max_attempts:
            return None
        base = self.delays[attempt - 1]
        # Jitter spreads retries so that receivers recovering from an outage are not hit by a thundering herd.
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0
        return base * spread


# The reference schedule (Svix): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, +-20% jitter; 8 attempts over ~28 h.
SVIX_SCHEDULE = RetrySchedule((5, 300, 1800, 7200, 18000, 36000, 36000))
# ThingSpace's CarrierService callbacks, as the vendor does it: 3 retries 5 minutes apart.
THINGSPACE_SCHEDULE = RetrySchedule((300, 300, 300), jitter=0.0)


@dataclass(frozen=True)
class DeliveryOutcome:
    """Passed to the owner's handler after every attempt (at least once; handlers must be idempotent)."""

    delivery_id: str
    owner_kind: str
    owner_id: str
    tenant: str
    attempt: int
    succeeded: bool
    final: bool  # no more attempts will be made: success, gone, refused URL, or retries exhausted
    gone: bool  # the receiver answered 410: the owner should deactivate its webhook
    status_code: int | None
    error: str | None
    at: str  # ISO time of the attempt
    event_type: str = ""
    next_attempt_at: str | None = None
    subject: str = ""  # what the owner said the delivery is about when it enqueued it (e.g. a request's device)
    url: str = ""  # where it was sent
    # The endpoint has failed for this long without a success (WEBHOOK_DISABLE_AFTER_DAYS): the owner disables
    # it as it would a gone one; None otherwise
    disable_reason: str | None = None


@dataclass(frozen=True)
class AttemptRecord:
    """One recorded attempt, as `list_attempts` returns it (field names are the JSON the faces show)."""

    deliveryId: str
    attempt: int
    at: str
    url: str
    durationMs: int
    final: bool
    statusCode: int | None = None  # None when no HTTP answer came; then `error` says what happened
    error: str | None = None
    responseBody: str = ""  # the first 20 KB
    nextAttemptAt: str | None = None
    eventType: str = ""
    # The webhook-id header sent: the delivery's own id, or for a re-sent delivery the original's (receivers
    # de-duplicate on it)
    webhookId: str = ""
    resentFrom: str | None = None  # set on the attempts of a re-sent delivery: the delivery it re-sends

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        """An attempt as the table keeps it (numbers come back as Decimal; other attributes of the item ignored)."""
        values: dict[str, Any] = {
            name: int(item[name]) if isinstance(item[name], Decimal) else item[name]
            for name in cls.__dataclass_fields__
            if name in item
        }
        return cls(**values)


def __getattr__(name: str) -> Any:
    if name in ("RecoveryRequest", "RecoveryView"):
        from pollgate.webhooks import views

        return getattr(views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
