"""The webhook engine shared by every face: signed, retried, recorded deliveries behind an SSRF guard.

Owners (Densify subscriptions, ThingSpace callbacks) call `enqueue_delivery` and register one outcome
handler per owner kind; the delivery consumer does the rest. See docs/webhooks.md.

Each name is loaded from its module when first asked for (PEP 562), not when the package is imported: the faces'
functions import pollgate.webhooks.models for their answers, and only some of them enqueue, list or deliver (the
consumer, `process_delivery_batch`, only WebhookDeliveryFunction runs).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pollgate.webhooks.consumer import process_delivery_batch
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

# Where each name lives. A face imports pollgate.webhooks.models (its answers list attempt records) in every one of
# its functions; a package that imported the whole engine here made each of them load it at init.
_HOME = {
    "DeliveryMessage": "pollgate.webhooks.engine",
    "DeliveryNotFound": "pollgate.webhooks.engine",
    "OutcomeHandlerFailed": "pollgate.webhooks.engine",
    "TestEventResult": "pollgate.webhooks.engine",
    "deliver_once": "pollgate.webhooks.engine",
    "enqueue_delivery": "pollgate.webhooks.engine",
    "handle_message": "pollgate.webhooks.engine",
    "list_attempts": "pollgate.webhooks.engine",
    "register_outcome_handler": "pollgate.webhooks.engine",
    "register_secret_resolver": "pollgate.webhooks.engine",
    "requeue_due_deliveries": "pollgate.webhooks.engine",
    "resend_delivery": "pollgate.webhooks.engine",
    "reset_endpoint_health": "pollgate.webhooks.engine",
    "send_test_event": "pollgate.webhooks.engine",
    "SVIX_SCHEDULE": "pollgate.webhooks.models",
    "THINGSPACE_SCHEDULE": "pollgate.webhooks.models",
    "AttemptRecord": "pollgate.webhooks.models",
    "DeliveryOutcome": "pollgate.webhooks.models",
    "RetrySchedule": "pollgate.webhooks.models",
    "WebhookTarget": "pollgate.webhooks.models",
    "new_signing_secret": "pollgate.webhooks.signing",
    "UrlRefused": "pollgate.webhooks.ssrf",
    "parse_url": "pollgate.webhooks.ssrf",
    "vet_url": "pollgate.webhooks.ssrf",
    "PayloadTooLarge": "pollgate.webhooks.store",
    "PostResult": "pollgate.webhooks.transport",
    "process_delivery_batch": "pollgate.webhooks.consumer",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


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
