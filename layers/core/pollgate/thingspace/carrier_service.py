"""CarrierService callbacks: each device's result queued for the account's listener, and every attempt's outcome.

`handle_delivery_outcome` hears every attempt's outcome (pollgate/registry.py hands it to the engine). Deliveries
go through the shared engine (SSRF guard, Standard Webhooks signatures, attempts recorded) on the vendor's
schedule: the first attempt and 3 retries, 5 minutes apart. The listeners' own API (register, list, delete) is in
thingspace/callbacks.py; this module needs neither sessions nor the face's models, so the workflow's worker and the
delivery function load neither.

Item: one callback per account and service (thingspace/items.py). The password must be kept to send it (as Basic
auth) to the listener, so unlike our own credentials it cannot be a hash; it is never returned by the API and the
table is encrypted at rest.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger

from pollgate import clock
from pollgate.operations import Operation
from pollgate.store import Item, Table
from pollgate.thingspace import items
from pollgate.thingspace.device_results import DeviceResult, DeviceResultStore
from pollgate.webhooks import THINGSPACE_SCHEDULE, DeliveryOutcome, WebhookTarget, enqueue_delivery
from pollgate.webhooks.signing import live_secrets

logger = Logger(child=True)

OWNER_KIND = items.CALLBACK_OWNER_KIND
EVENT_TYPE = "CarrierService"
CARRIER_SERVICE = "CarrierService"


class CallbackStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def put(
        self,
        account: str,
        name: str,
        url: str,
        username: str | None,
        password: str | None,
        signing_secret: str,
        previous: Item | None = None,
    ) -> None:
        """Register (live again if it was disabled); a rotation's replaced secret, still in its overlap, is kept."""
        attributes: dict[str, Any] = {
            "accountName": account,
            "name": name,
            "url": url,
            "username": username,
            "password": password,
            "signingSecret": signing_secret,
            "registeredAt": clock.iso(),
        }
        if previous and previous.get("previousSigningSecret") and previous.get("previousSecretUntil"):
            attributes["previousSigningSecret"] = previous["previousSigningSecret"]
            attributes["previousSecretUntil"] = previous["previousSecretUntil"]
        self.table.put(items.callback(account, name), attributes)

    def rotate(self, account: str, name: str, seen_secret: str, new_secret: str, previous_until: float) -> bool:
        """The new secret current, the seen one kept until `previous_until`; False when the listener is gone or
        its secret changed since it was read."""
        return self.table.update_if(
            items.callback(account, name),
            "SET signingSecret = :new, previousSigningSecret = :old, previousSecretUntil = :until",
            condition="signingSecret = :old",
            values={":new": new_secret, ":old": seen_secret, ":until": previous_until},
        )

    def get(self, account: str, name: str) -> Item | None:
        """The registration, live or disabled (a re-registration keeps its signing secret either way)."""
        return self.table.get(items.callback(account, name), consistent=True)

    def live(self, account: str, name: str) -> Item | None:
        item = self.get(account, name)
        return item if item and not item.get("disabledAt") else None

    def all(self, account: str) -> list[Item]:
        registered = self.table.query(items.account_partition(account), items.CALLBACK_PREFIX, consistent=True)
        return [item for item in registered if not item.get("disabledAt")]

    def delete(self, account: str, name: str) -> bool:
        """Remove a live registration; False if there was none."""
        return self.table.delete(
            items.callback(account, name), condition="attribute_exists(pk) AND attribute_not_exists(disabledAt)"
        )

    def disable(self, account: str, name: str, url: str, reason: str = "") -> bool:
        """Stop delivering to a listener that answered 410 (or failed for days), unless it was re-registered with
        another URL since. The reason stays on the record (`disabledReason`) until it is registered again.

        An update, not a delete: the delivery function that calls this needs no right to delete items.
        """
        return self.table.update_if(
            items.callback(account, name),
            "SET disabledAt = :now, disabledReason = :why",
            condition="#url = :url",
            names={"#url": "url"},
            values={":url": url, ":now": clock.iso(), ":why": reason or "HTTP 410"},
        )


def carrier_service_body(operation: Operation, result: DeviceResult) -> dict[str, Any]:
    """The vendor's CarrierService callback for one device of a request."""
    action = str(operation.work["action"])
    body: dict[str, Any] = {
        "requestId": operation.id,
        "deviceIds": result.device_ids,
        "status": "Success" if result.succeeded else "Failed",
        "maxCallbackThreshold": THINGSPACE_SCHEDULE.max_attempts,
    }
    if result.succeeded:
        body["deviceResponse"] = {f"{action}Response": {"deviceIds": result.device_ids, "state": result.state}}
    else:
        body["faultResponse"] = {"faultcode": result.fault_code, "faultstring": result.fault_message}
    return body


def listener_secrets(registration: Item, now: float) -> list[str]:
    until = registration.get("previousSecretUntil")
    return live_secrets(
        str(registration["signingSecret"]),
        registration.get("previousSigningSecret"),
        float(until) if until else None,
        now,
    )


def listener_signing_secrets(tenant: str, owner_id: str) -> Sequence[str] | None:
    """The engine's secret resolver for callbacks: the listener's secrets now (None for a callback queued before
    deliveries were kept per listener, whose owner id names a device result, or once the listener is deleted)."""
    if ":" in owner_id:
        return None
    registration = CallbackStore().get(tenant, owner_id)
    return listener_secrets(registration, clock.epoch()) if registration else None


def listener_target(registration: Item) -> WebhookTarget:
    auth = None
    if registration.get("username"):
        pair = f"{registration['username']}:{registration.get('password') or ''}".encode()
        auth = ("Authorization", "Basic " + base64.b64encode(pair).decode())
    return WebhookTarget(url=str(registration["url"]), secret=str(registration["signingSecret"]), auth_header=auth)


def live_listener(tenant: str, table: Table | None = None) -> Item | None:
    """The account's CarrierService listener, unless none is registered or it was disabled."""
    return CallbackStore(table).live(tenant, CARRIER_SERVICE)


# How long one Finish attempt may take to queue a device's callback before another attempt may take over.
CALLBACK_CLAIM_SECONDS = 30.0


class CallbackClaimHeld(Exception):
    """Another attempt of Finish claimed a device's callback and may still be queueing it: retry later (the
    workflow does), and take over once its claim has lapsed if it never queued it."""


def queue_carrier_service_results(
    operation: Operation,
    device_results: Sequence[DeviceResult],
    results: DeviceResultStore,
    claimant: str,
    registration: Item | None,
    claimed: frozenset[int] = frozenset(),
) -> int:
    """Queue each device's result for the account's CarrierService listener, once. Answers how many were queued.

    Each device's callback is claimed by one attempt (`claimant`) before it is queued, so a slow attempt and its
    retry never both queue it; a crash between queueing and marking can still queue it twice (at least once, as
    webhooks are). `registration`: the account's live CarrierService listener (`live_listener`); `claimed`: the
    device indexes whose claim `claimant` took as it recorded their outcome. Raises CallbackClaimHeld when another
    attempt's claim is still live.
    """
    if registration is None:
        return 0  # as the vendor: no listener, no callback
    target = listener_target(registration)
    queued = held = 0
    for result in device_results:
        claim = (
            "mine"
            if result.index in claimed
            else results.claim_callback(operation.id, result.index, claimant, CALLBACK_CLAIM_SECONDS)
        )
        if claim != "mine":
            held += claim == "held"
            continue
        # Kept under the listener (its deliveries list), about one device result (its subject).
        delivery_id = enqueue_delivery(
            owner_kind=OWNER_KIND,
            owner_id=CARRIER_SERVICE,
            tenant=operation.tenant,
            target=target,
            payload=carrier_service_body(operation, result),
            event_type=EVENT_TYPE,
            schedule=THINGSPACE_SCHEDULE,
            subject=f"{operation.id}:{result.index}",
        )
        results.callback_queued(operation.id, result.index, delivery_id, target.url)
        queued += 1
    if held:
        raise CallbackClaimHeld(f"{held} device callbacks of {operation.id} are claimed by another attempt")
    return queued


def handle_delivery_outcome(outcome: DeliveryOutcome) -> None:
    """Record each attempt's outcome on the device result; a listener answering 410, or failing for days, is
    disabled (deregistered, with the reason on its record)."""
    # The device result: the subject, or (callbacks queued before deliveries were kept per listener) the owner id.
    request_id, _, index = (outcome.subject or outcome.owner_id).rpartition(":")
    status = "Delivered" if outcome.succeeded else ("Failed" if outcome.final else "Retrying")
    results = DeviceResultStore()
    if request_id and index.isdigit():
        results.callback_attempted(request_id, int(index), status, outcome.attempt, outcome.at)
    if outcome.gone or outcome.disable_reason:
        recorded = results.get(request_id, int(index)) if request_id and index.isdigit() else None
        url = str(recorded.get("callbackUrl", "")) if recorded else ""
        reason = outcome.disable_reason or "HTTP 410: the listener is gone"
        if url:
            CallbackStore(results.table).disable(outcome.tenant, CARRIER_SERVICE, url, reason)
            logger.warning("CarrierService listener disabled", extra={"account": outcome.tenant, "reason": reason})
