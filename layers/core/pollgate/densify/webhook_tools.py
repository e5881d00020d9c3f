"""A subscription's webhook, beyond the vendor's API (ours): rotate its signing secret, send a test event.

- Rotation: a new `whsec_` secret is current at once; the replaced one keeps signing beside it for 24 h (each push
  then carries `v1,<new> v1,<old>`, as Standard Webhooks allows), so receivers switch over without losing pushes.
  The delivery function signs with the secrets of the moment (`push_signing_secrets`), so retries and re-sends of
  older pushes carry the new one too.
- Test event: a sample push, sent now to the webhook as it is configured and recorded like any push attempt.
- Recovery: every push that failed for good between two times re-sent, as an operation (webhooks/recovery.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from pollgate import clock
from pollgate.densify.auth import Caller
from pollgate.densify.push import OWNER_KIND, TENANT, auth_header
from pollgate.densify.subscriptions import Subscription, SubscriptionStore, _changeable, _new_signing_secret, visible
from pollgate.errors import Conflict, Invalid, NotFound
from pollgate.webhooks import TestEventResult, WebhookTarget
from pollgate.webhooks import send_test_event as engine_send_test_event
from pollgate.webhooks.recovery import Window, recovery_of, submit_recovery
from pollgate.webhooks.recovery import view as recovery_view
from pollgate.webhooks.signing import ROTATION_OVERLAP_SECONDS
from pollgate.webhooks.views import RecoveryRequest, RecoveryView

TEST_EVENT_TYPE = "densify.subscription.test"


def rotate_secret(platform: str, ref: str, caller: Caller, store: SubscriptionStore | None = None) -> Subscription:
    """Answers the subscription as rotated (its new secret, the old one's end of overlap)."""
    store = store or SubscriptionStore()
    subscription = _changeable(ref, platform, caller, store)
    new_secret = _new_signing_secret()
    until = clock.epoch() + ROTATION_OVERLAP_SECONDS
    if not store.rotate_secret(subscription, new_secret, until):
        raise Conflict("The subscription was changed by another request; read it and retry.")
    rotated = store.get(subscription.ref)
    if rotated is None:
        raise Conflict("The subscription was deleted meanwhile.")
    return rotated


def push_signing_secrets(tenant: str, ref: str) -> Sequence[str] | None:
    """The engine's secret resolver for pushes: the subscription's secrets now (None once it is deleted)."""
    subscription = SubscriptionStore().get(ref)
    return subscription.signing_secrets(clock.epoch()) if subscription and subscription.signing_secret else None


def webhook_target(subscription: Subscription) -> WebhookTarget:
    webhook = subscription.definition.get("webhook")
    if not webhook:
        raise Invalid("The subscription has no webhook.")
    return WebhookTarget(url=webhook["uri"], secret=subscription.signing_secret, auth_header=auth_header(webhook))


def test_payload(subscription: Subscription) -> dict[str, object]:
    return {
        "type": TEST_EVENT_TYPE,
        "test": True,
        "subscriptionRef": subscription.ref,
        "subscription": subscription.header(None),
        "count": 0,
        "results": [],
    }


def send_test_event(platform: str, ref: str, caller: Caller, store: SubscriptionStore | None = None) -> TestEventResult:
    """POST a sample payload now (signed, SSRF-guarded, never retried); the attempt is recorded like a push's."""
    store = store or SubscriptionStore()
    subscription = _changeable(ref, platform, caller, store)
    return engine_send_test_event(
        owner_kind=OWNER_KIND,
        owner_id=subscription.ref,
        tenant=TENANT,
        target=webhook_target(subscription),
        payload=test_payload(subscription),
        event_type=TEST_EVENT_TYPE,
        secrets=subscription.signing_secrets(clock.epoch()),
    )


# ------------------------------------------------------------------------------------------------ recovery


def recovery_url(platform: str, ref: str, recovery_id: str) -> str:
    return f"/subscriptions/{platform}/{ref}/recoveries/{recovery_id}"


def recover(
    platform: str, ref: str, caller: Caller, request: RecoveryRequest, store: SubscriptionStore | None = None
) -> RecoveryView:
    """Submit a recovery of the pushes that failed for good in the window (202 + polling URL)."""
    subscription = _changeable(ref, platform, caller, store or SubscriptionStore())
    operation = submit_recovery(OWNER_KIND, TENANT, subscription.ref, Window.parse(request.since, request.until))
    return RecoveryView.model_validate(
        {**recovery_view(operation), "url": recovery_url(platform, subscription.ref, operation.id)}
    )


def recovery_status(
    platform: str, ref: str, recovery_id: str, caller: Caller, store: SubscriptionStore | None = None
) -> RecoveryView:
    subscription = visible(ref, platform, caller, store)
    operation = recovery_of(recovery_id, OWNER_KIND, TENANT, subscription.ref)
    if operation is None:
        raise NotFound(f"Recovery {recovery_id[:64]} was not found.")
    return RecoveryView.model_validate(
        {**recovery_view(operation), "url": recovery_url(platform, subscription.ref, operation.id)}
    )
