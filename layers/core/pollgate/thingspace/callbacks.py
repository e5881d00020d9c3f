"""Callback listeners of the ThingSpace face: register, list and delete (the results POSTed to them:
thingspace/carrier_service.py)."""

from __future__ import annotations

from pollgate.errors import NotFound
from pollgate.thingspace import errors
from pollgate.thingspace.auth import Session, require_account
from pollgate.thingspace.carrier_service import OWNER_KIND, CallbackStore
from pollgate.thingspace.models import CallbackDeleted, CallbackRegistered, CallbackRegistration, CallbackView
from pollgate.webhooks import new_signing_secret, reset_endpoint_health


def register_callback(
    account: str, registration: CallbackRegistration, session: Session, store: CallbackStore | None = None
) -> CallbackRegistered:
    """Register (or replace) the account's listener for one service. The signing secret survives a replace."""
    require_account(session, account)
    store = store or CallbackStore()
    existing = store.get(account, registration.name)
    secret = str(existing["signingSecret"]) if existing else new_signing_secret()
    store.put(
        account,
        registration.name,
        registration.url,
        registration.username,
        registration.password,
        secret,
        previous=existing,
    )
    if existing and existing.get("disabledAt"):
        reset_endpoint_health(OWNER_KIND, account, registration.name, store.table)  # registering again re-enables
    # signingSecret is ours: the vendor signs nothing; receivers verify our Standard Webhooks signature with it.
    return CallbackRegistered(accountName=account, serviceName=registration.name, signingSecret=secret)


def list_callbacks(account: str, session: Session, store: CallbackStore | None = None) -> list[CallbackView]:
    require_account(session, account)
    return [
        CallbackView(
            accountName=account, serviceName=item["name"], url=item["url"], username=item.get("username") or None
        )
        for item in (store or CallbackStore()).all(account)
    ]


def delete_callback(account: str, name: str, session: Session, store: CallbackStore | None = None) -> CallbackDeleted:
    require_account(session, account)
    store = store or CallbackStore()
    if not store.delete(account, name):
        raise NotFound(errors.CALLBACK_NOT_FOUND.body(name[:64], account))
    return CallbackDeleted(accountName=account, serviceName=name)
