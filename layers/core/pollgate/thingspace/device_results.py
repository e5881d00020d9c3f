"""Each device's outcome in a device-action request, recorded once, and the claim on its CarrierService callback.

Items: one device result per (request, device index) (thingspace/items.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pollgate import clock
from pollgate.store import Item, Table
from pollgate.thingspace import items


@dataclass(frozen=True)
class DeviceResult:
    request_id: str
    index: int
    device_ids: list[dict[str, str]]
    succeeded: bool
    state: str | None
    fault_code: str | None
    fault_message: str | None

    @classmethod
    def from_item(cls, item: Item) -> DeviceResult:
        return cls(
            item["requestId"],
            int(item["index"]),
            item["deviceIds"],
            item["status"] == "Success",
            item.get("state"),
            item.get("faultCode"),
            item.get("faultMessage"),
        )

    def summary(self) -> dict[str, Any]:
        body: dict[str, Any] = {"deviceIds": self.device_ids, "status": "Success" if self.succeeded else "Failed"}
        if self.succeeded:
            body["state"] = self.state
        else:
            body["fault"] = {"faultcode": self.fault_code, "faultstring": self.fault_message}
        return body


class DeviceResultStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def record(self, result: DeviceResult, expires_at: int, callback_claim: tuple[str, float] | None = None) -> bool:
        """Keep the first outcome of a device; False when one was already recorded. `callback_claim` (claimant,
        seconds): the attempt that records the outcome also takes the claim on its callback (`claim_callback`'s
        "mine"), in the same write."""
        attributes: dict[str, Any] = {
            "requestId": result.request_id,
            "index": result.index,
            "deviceIds": result.device_ids,
            "status": "Success" if result.succeeded else "Failed",
            "state": result.state,
            "faultCode": result.fault_code,
            "faultMessage": result.fault_message,
            "recordedAt": clock.iso(),
            "expiresAt": expires_at,
        }
        if callback_claim is not None:
            claimant, seconds = callback_claim
            attributes.update(callbackClaim=claimant, callbackClaimUntil=clock.epoch() + seconds)
        return self.table.put(
            items.device_result(result.request_id, result.index), attributes, condition="attribute_not_exists(pk)"
        )

    def get(self, request_id: str, index: int) -> Item | None:
        return self.table.get(items.device_result(request_id, index), consistent=True)

    def all(self, request_id: str) -> list[Item]:
        return list(self.table.query(items.request_results(request_id), items.DEVICE_PREFIX, consistent=True))

    def claim_callback(
        self, request_id: str, index: int, claimant: str, seconds: float
    ) -> Literal["mine", "queued", "held"]:
        """Take the right to queue this device's callback for `seconds`.

        "queued": someone already queued it; "held": another attempt holds a live claim (it may still be
        running, slowly: queueing too would send the callback twice); "mine": queue it now.
        """
        now = clock.epoch()
        if self.table.update_if(
            items.device_result(request_id, index),
            "SET callbackClaim = :me, callbackClaimUntil = :until",
            condition="attribute_exists(pk) AND attribute_not_exists(callbackDeliveryId) AND "
            "(attribute_not_exists(callbackClaim) OR callbackClaim = :me OR callbackClaimUntil < :now)",
            values={":me": claimant, ":until": now + seconds, ":now": now},
        ):
            return "mine"
        item = self.get(request_id, index)
        return "queued" if item is None or item.get("callbackDeliveryId") else "held"

    def callback_queued(self, request_id: str, index: int, delivery_id: str, url: str) -> None:
        self.table.update(
            items.device_result(request_id, index),
            "SET callbackDeliveryId = :id, callbackUrl = :url, callbackStatus = :queued",
            values={":id": delivery_id, ":url": url, ":queued": "Queued"},
        )

    def callback_attempted(self, request_id: str, index: int, status: str, attempt: int, at: str) -> None:
        """Record an attempt's outcome, unless a later attempt's is recorded already (outcomes arrive at least
        once and maybe out of order). Later is by time, then by number: a re-sent callback's attempts count from 1
        again."""
        self.table.update_if(
            items.device_result(request_id, index),
            "SET callbackStatus = :status, callbackAttempts = :attempt, callbackAt = :at",
            condition="attribute_exists(pk) AND (attribute_not_exists(callbackAttempts) OR callbackAt < :at "
            "OR (callbackAt = :at AND callbackAttempts <= :attempt))",
            values={":status": status, ":attempt": attempt, ":at": at},
        )
