"""The webhook engine shared by every face: signed, retried, recorded deliveries behind an SSRF guard.

Owners (Densify subscriptions, ThingSpace callbacks) call `enqueue_delivery` and register one outcome
handler per owner kind; the delivery consumer does the rest. See docs/webhooks.md.

The consumer (`process_delivery_batch`) is loaded only when asked for: only WebhookDeliveryFunction runs it, and
the functions that enqueue or list deliveries should not pay for its imports at a cold start.
"""

from typing import TYPE_CHECKING, Any

from pollgate.webhooks.engine import (
    DeliveryMessage,
    DeliveryNotFound,
    OutcomeHandlerFailed,
    TestEventResult,
    deliver_once,
    enqueue_delivery,
    handle_message,
    list_attempts,
    register_outcome_handler,
    register_secret_resolver,
    requeue_due_deliveries,
    resend_delivery,
    reset_endpoint_health,
    send_test_event,
)
from pollgate.webhooks.models import (
    SVIX_SCHEDULE,
    THINGSPACE_SCHEDULE,
    AttemptRecord,
    DeliveryOutcome,
    RetrySchedule,
    WebhookTarget,
)
from pollgate.webhooks.signing import new_signing_secret
from pollgate.webhooks.ssrf import UrlRefused, parse_url, vet_url
from pollgate.webhooks.store import PayloadTooLarge
from pollgate.webhooks.transport import PostResult

if TYPE_CHECKING:
    from pollgate.webhooks.consumer import process_delivery_batch


def __getattr__(name: str) -> Any:
    if name == "process_delivery_batch":
        from pollgate.webhooks.consumer import process_delivery_batch

        return process_delivery_batch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SVIX_SCHEDULE",
    "THINGSPACE_SCHEDULE",
    "AttemptRecord",
    "DeliveryMessage",
    "DeliveryNotFound",
    "DeliveryOutcome",
    "OutcomeHandlerFailed",
    "PayloadTooLarge",
    "PostResult",
    "RetrySchedule",
    "TestEventResult",
    "UrlRefused",
    "WebhookTarget",
    "deliver_once",
    "enqueue_delivery",
    "handle_message",
    "list_attempts",
    "new_signing_secret",
    "parse_url",
    "process_delivery_batch",
    "register_outcome_handler",
    "register_secret_resolver",
    "requeue_due_deliveries",
    "resend_delivery",
    "reset_endpoint_health",
    "send_test_event",
    "vet_url",
]
