"""A callback listener's deliveries and signing secret, beyond the vendor's API (ours): list its attempts, re-send
one, rotate its secret, send a test event. Under the face's auth and error shape: a listener of an account the
user was not given answers as an unknown account does, one not registered as an unknown listener does.

The CarrierService callbacks of every request are kept under their listener (the engine's owner: the account and
the service name), so one query lists them, newest first, with the fields Densify's deliveries list has.
"""

from __future__ import annotations

from pollgate import clock
from pollgate.errors import Invalid, NotFound
from pollgate.store import Item
from pollgate.thingspace import errors
from pollgate.thingspace.auth import Session, require_account
from pollgate.thingspace.carrier_service import OWNER_KIND, CallbackStore, listener_secrets, listener_target
from pollgate.thingspace.models import ListenerDeliveries, ListenerResent, ListenerSecretRotated, ListenerTestSent
from pollgate.webhooks import DeliveryNotFound, list_attempts, new_signing_secret, resend_delivery, send_test_event
from pollgate.webhooks.recovery import Window, recovery_of, submit_recovery
from pollgate.webhooks.recovery import view as recovery_view
from pollgate.webhooks.signing import ROTATION_OVERLAP_SECONDS
from pollgate.webhooks.views import RecoveryRequest, RecoveryView

TEST_EVENT_TYPE = "thingspace.callback.test"
MAX_ATTEMPTS_LISTED = 1000


def _registration(account: str, service: str, session: Session, store: CallbackStore) -> Item:
    require_account(session, account)
    registration = store.get(account, service) if 0 < len(service) <= 64 else None
    if registration is None:
        raise NotFound(errors.CALLBACK_NOT_FOUND.body(service[:64], account))
    return registration


def _field_invalid(field: str, problem: str) -> Invalid:
    code = errors.FIELD_INVALID.code.format(field[:1].upper() + field[1:])
    return Invalid({"errorCode": code, "errorMessage": errors.FIELD_INVALID.template.format("", field, problem)})


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return 100
    if not text.isdigit() or not 1 <= int(text) <= MAX_ATTEMPTS_LISTED:
        raise _field_invalid("limit", f"must be a whole number from 1 to {MAX_ATTEMPTS_LISTED}")
    return int(text)


def list_deliveries(
    account: str, service: str, session: Session, *, limit: int = 100, store: CallbackStore | None = None
) -> ListenerDeliveries:
    """The listener's attempts, newest first; a disabled listener's too (its owner wants to know why)."""
    registration = _registration(account, service, session, store or CallbackStore())
    return ListenerDeliveries(
        accountName=account,
        serviceName=service,
        active=not registration.get("disabledAt"),
        disabledReason=registration.get("disabledReason") if registration.get("disabledAt") else None,
        attempts=list_attempts(OWNER_KIND, service, account, limit),
    )


def resend(
    account: str, service: str, delivery_id: str, session: Session, store: CallbackStore | None = None
) -> ListenerResent:
    """Send a callback that failed for good again: a new delivery with the original's webhook-id, to the listener
    as registered now."""
    store = store or CallbackStore()
    registration = _registration(account, service, session, store)
    if registration.get("disabledAt"):
        raise _field_invalid("serviceName", "the listener is disabled; register it again first")
    attempts = [
        a for a in list_attempts(OWNER_KIND, service, account, MAX_ATTEMPTS_LISTED) if a.deliveryId == delivery_id
    ]
    if not attempts:
        raise NotFound(errors.DELIVERY_NOT_FOUND.body(delivery_id[:64], service[:64]))
    if any(a.statusCode is not None and 200 <= a.statusCode < 300 and a.error is None for a in attempts):
        raise Invalid(errors.DELIVERY_NOT_RESENDABLE.body(delivery_id[:64], "it succeeded"))
    if not any(a.final for a in attempts):
        raise Invalid(errors.DELIVERY_NOT_RESENDABLE.body(delivery_id[:64], "it is still being retried"))
    try:
        new_id = resend_delivery(OWNER_KIND, service, account, delivery_id, target=listener_target(registration))
    except DeliveryNotFound:
        raise NotFound(errors.DELIVERY_NOT_FOUND.body(delivery_id[:64], service[:64])) from None
    return ListenerResent(accountName=account, serviceName=service, deliveryId=new_id, resentFrom=delivery_id)


def rotate_secret(
    account: str, service: str, session: Session, store: CallbackStore | None = None
) -> ListenerSecretRotated:
    store = store or CallbackStore()
    registration = _registration(account, service, session, store)
    new_secret = new_signing_secret()
    until = clock.epoch() + ROTATION_OVERLAP_SECONDS
    if not store.rotate(account, service, str(registration["signingSecret"]), new_secret, until):
        raise _field_invalid("serviceName", "the listener changed meanwhile; rotate again")
    return ListenerSecretRotated(
        accountName=account, serviceName=service, signingSecret=new_secret, previousSecretValidUntil=clock.iso(until)
    )


def send_test(account: str, service: str, session: Session, store: CallbackStore | None = None) -> ListenerTestSent:
    """POST a sample callback now, once, signed as callbacks are; recorded with the listener's deliveries."""
    registration = _registration(account, service, session, store or CallbackStore())
    payload = {
        "type": TEST_EVENT_TYPE,
        "test": True,
        "accountName": account,
        "serviceName": service,
        "requestId": "00000000-0000-0000-0000-000000000000",
        "deviceIds": [],
        "status": "Success",
    }
    sent = send_test_event(
        owner_kind=OWNER_KIND,
        owner_id=service,
        tenant=account,
        target=listener_target(registration),
        payload=payload,
        event_type=TEST_EVENT_TYPE,
        secrets=listener_secrets(registration, clock.epoch()),
    )
    return ListenerTestSent(
        accountName=account,
        serviceName=service,
        deliveryId=sent.delivery_id,
        succeeded=sent.succeeded,
        statusCode=sent.status_code,
        error=sent.error,
        durationMs=sent.duration_ms,
    )


# ------------------------------------------------------------------------------------------------ recovery


def recovery_url(account: str, service: str, recovery_id: str) -> str:
    return f"/api/m2m/v1/callbacks/{account}/name/{service}/recoveries/{recovery_id}"


def recover(
    account: str, service: str, request: RecoveryRequest, session: Session, store: CallbackStore | None = None
) -> RecoveryView:
    """Submit a recovery of the callbacks that failed for good in the window (202 + polling URL)."""
    _registration(account, service, session, store or CallbackStore())
    try:
        window = Window.parse(request.since, request.until)
    except Invalid as refusal:
        field = "until" if "until" in str(refusal.body.get("message", "")).split(" ")[0] else "since"
        raise _field_invalid(field, str(refusal.body.get("message", ""))) from None
    operation = submit_recovery(OWNER_KIND, account, service, window)
    return RecoveryView.model_validate(
        {**recovery_view(operation), "url": recovery_url(account, service, operation.id)}
    )


def recovery_status(
    account: str, service: str, recovery_id: str, session: Session, store: CallbackStore | None = None
) -> RecoveryView:
    _registration(account, service, session, store or CallbackStore())
    operation = recovery_of(recovery_id, OWNER_KIND, account, service)
    if operation is None:
        raise NotFound(errors.RECOVERY_NOT_FOUND.body(recovery_id[:64], service[:64]))
    return RecoveryView.model_validate(
        {**recovery_view(operation), "url": recovery_url(account, service, operation.id)}
    )
