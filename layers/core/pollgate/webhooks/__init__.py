"""The webhook engine shared by every face: signed, retried, recorded deliveries behind an SSRF guard.

Owners (Densify subscriptions, ThingSpace callbacks) call `enqueue_delivery` and register one outcome
handler per owner kind; the delivery consumer does the rest. See docs/webhooks.md.
"""

from pollgate.webhooks.consumer import process_delivery_batch
from pollgate.webhooks.engine import (
    DeliveryMessage,
    DeliveryNotFound,
    OutcomeHandlerFailed,
    deliver_once,
    enqueue_delivery,
    handle_message,
    list_attempts,
    register_outcome_handler,
    requeue_due_deliveries,
    resend_delivery,
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
    "requeue_due_deliveries",
    "resend_delivery",
    "vet_url",
]
