"""A subscription's webhook, beyond the vendor's API (ours): rotate its signing secret, send a test event.

- Rotation: a new `whsec_` secret is current at once; the replaced one keeps signing beside it for 24 h (each push
  then carries `v1,<new> v1,<old>`, as Standard Webhooks allows), so receivers switch over without losing pushes.
  The delivery function signs with the secrets of the moment (`push_signing_secrets`), so retries and re-sends of
  older pushes carry the new one too.
- Test event: a sample push, sent now to the webhook as it is configured and recorded like any push attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

from pollgate import clock
from pollgate.densify.auth import Caller
from pollgate.densify.push import OWNER_KIND, TENANT, auth_header
from pollgate.densify.subscriptions import Subscription, SubscriptionStore, _changeable, _new_signing_secret
from pollgate.errors import Conflict, Invalid
from pollgate.webhooks import TestEventResult, WebhookTarget
from pollgate.webhooks import send_test_event as engine_send_test_event
from pollgate.webhooks.signing import ROTATION_OVERLAP_SECONDS

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
    return {"type": TEST_EVENT_TYPE, "test": True, "subscriptionRef": subscription.ref,
            "subscription": subscription.header(None), "count": 0, "results": []}


def send_test_event(platform: str, ref: str, caller: Caller,
                    store: SubscriptionStore | None = None) -> TestEventResult:
    """POST a sample payload now (signed, SSRF-guarded, never retried); the attempt is recorded like a push's."""
    store = store or SubscriptionStore()
    subscription = _changeable(ref, platform, caller, store)
    return engine_send_test_event(owner_kind=OWNER_KIND, owner_id=subscription.ref, tenant=TENANT,
                                  target=webhook_target(subscription), payload=test_payload(subscription),
                                  event_type=TEST_EVENT_TYPE, secrets=subscription.signing_secrets(clock.epoch()))
