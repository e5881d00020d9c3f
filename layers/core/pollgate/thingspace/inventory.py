"""The device inventory and the provisioning backends that move devices between states.

Items, per account (thingspace/items.py): the account, its devices, and one item per device id (so a device is
found by any of its ids, and no id names two devices).

A backend applies one transition of one device for one request. Applying the same (request, device) again
answers the first outcome and changes nothing, so a retried workflow step never provisions a device twice.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pollgate import clock
from pollgate.settings import get_settings
from pollgate.store import Item, Put, Table
from pollgate.thingspace import errors, items
from pollgate.thingspace.errors import ErrorCode
from pollgate.thingspace.kinds import DeviceAction, DeviceIdKind

DEVICE_STATES = ("pre-active", "active", "suspend", "deactive")

# action -> (states it may start from, state it ends in)
TRANSITIONS: dict[DeviceAction, tuple[frozenset[str], str]] = {
    DeviceAction.ACTIVATE: (frozenset({"pre-active", "deactive"}), "active"),
    DeviceAction.DEACTIVATE: (frozenset({"active", "suspend"}), "deactive"),
    DeviceAction.SUSPEND: (frozenset({"active"}), "suspend"),
    DeviceAction.RESTORE: (frozenset({"suspend"}), "active"),
}


def refusal(action: DeviceAction, state: str) -> tuple[ErrorCode, tuple[object, ...]]:
    """The vendor's reason an action cannot start from a state."""
    if action is DeviceAction.ACTIVATE:
        return (errors.DEVICE_ALREADY_ACTIVE, ()) if state == "active" else (errors.DEVICE_SUSPENDED, ())
    if action is DeviceAction.SUSPEND and state == "suspend":
        return errors.DEVICE_ALREADY_SUSPENDED, ()
    if action is DeviceAction.RESTORE:
        return (errors.DEVICE_ALREADY_ACTIVE, ()) if state == "active" else (errors.DEVICE_NOT_SUSPENDED, (state,))
    return errors.DEVICE_NOT_ACTIVE, (state,)


@dataclass(frozen=True)
class DeviceTransition:
    """One device of one request: what to do, to which device ids, with which options."""

    request_id: str
    index: int
    account: str
    action: DeviceAction
    device_ids: tuple[tuple[str, str], ...]  # (kind, id)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.request_id}#{self.index}"


@dataclass(frozen=True)
class TransitionOutcome:
    succeeded: bool
    state: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def refused(cls, error: ErrorCode, *arguments: object) -> TransitionOutcome:
        body = error.body(*arguments)
        return cls(False, None, body["errorCode"], body["errorMessage"])


class BackendUnavailable(Exception):
    """The backend could not answer; the workflow retries, then records the device as an unexpected error."""


@dataclass(frozen=True)
class DeviceState:
    """One device as the backend knows it: its ids (kind -> id), its state, its number in the account."""

    number: int
    ids: Mapping[str, str]
    state: str
    created_at: str | None = None


@dataclass(frozen=True)
class DevicePage:
    devices: list[DeviceState]
    has_more: bool


class ProvisioningBackend(Protocol):
    def apply(self, transition: DeviceTransition) -> TransitionOutcome: ...

    def list_devices(self, account: str, device_id: tuple[str, str] | None, after: int, limit: int) -> DevicePage:
        """The account's devices numbered above `after`, oldest first (or the one device `device_id` names)."""
        ...


def _device_state(item: Item) -> DeviceState:
    key = str(item["deviceKey"])
    return DeviceState(
        int(key) if key.isdigit() else 0, dict(item.get("ids") or {}), str(item["state"]), item.get("createdAt")
    )


class InventoryStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def add_account(self, name: str) -> None:
        self.table.put(items.account(name), {"accountName": name, "createdAt": clock.iso()})

    def account_exists(self, name: str) -> bool:
        return self.table.get(items.account(name)) is not None

    def add_device(self, account: str, ids: Mapping[str, str], state: str = "pre-active") -> str:
        """A device with its ids (kind -> id). Every id must be new in the account: one transaction, all or none."""
        if state not in DEVICE_STATES:
            raise ValueError(f"state must be one of {DEVICE_STATES}")
        if not ids:
            raise ValueError("a device needs at least one id")
        kinds = {DeviceIdKind(kind.lower()).value: value for kind, value in ids.items()}
        number = int(
            self.table.update(
                items.device_counter(account), "ADD #last :one", names={"#last": "last"}, values={":one": 1}
            )["last"]
        )
        device_key = items.device_key(number)  # a number lost to a refused transaction is never given again
        device = Put(
            items.device(account, device_key),
            {"deviceKey": device_key, "ids": kinds, "state": state, "transitions": 0, "createdAt": clock.iso()},
            condition="attribute_not_exists(pk)",
        )
        self.table.transact(
            device,
            *[
                Put(
                    items.device_id(account, kind, value),
                    {"deviceKey": device_key},
                    condition="attribute_not_exists(pk)",
                )
                for kind, value in kinds.items()
            ],
        )
        return device_key

    def device(self, account: str, device_key: str) -> Item | None:
        return self.table.get(items.device(account, device_key), consistent=True)

    def find_device(self, account: str, device_ids: Sequence[tuple[str, str]]) -> Item | None:
        """The device all the given ids name; None when any is unknown or they name different devices."""
        keys = set()
        for kind, value in device_ids:
            entry = self.table.get(items.device_id(account, kind, value))
            if entry is None:
                return None
            keys.add(entry["deviceKey"])
        return self.device(account, keys.pop()) if len(keys) == 1 else None

    def devices(self, account: str) -> list[Item]:
        return list(self.table.query(items.account_partition(account), items.DEVICE_PREFIX, consistent=True))

    def page(self, account: str, after: int, limit: int) -> tuple[list[Item], bool]:
        """Up to `limit` devices numbered above `after`, oldest first, and whether more follow."""
        found = list(
            self.table.query(
                items.account_partition(account),
                items.DEVICE_PREFIX,
                consistent=True,
                limit=limit + 1,
                start_at=items.DEVICE_PREFIX + items.device_key(after + 1),
            )
        )
        return found[:limit], len(found) > limit

    def move(self, account: str, device_key: str, allowed_from: frozenset[str], to: str, request_key: str) -> bool:
        """Move the device to `to` if it is in an allowed state; False when it is not (nothing written)."""
        names = {f":from{i}": state for i, state in enumerate(sorted(allowed_from))}
        return self.table.update_if(
            items.device(account, device_key),
            "SET #state = :to, lastRequest = :request, updatedAt = :now ADD transitions :one",
            condition=f"#state IN ({', '.join(names)})",
            names={"#state": "state"},
            values={":to": to, ":request": request_key, ":now": clock.iso(), ":one": 1, **names},
        )


class TableBackend:
    """The built-in backend: device state lives in the table, transitions are conditional writes."""

    def __init__(self, inventory: InventoryStore | None = None) -> None:
        self.inventory = inventory or InventoryStore()

    def apply(self, transition: DeviceTransition) -> TransitionOutcome:
        device = self.inventory.find_device(transition.account, transition.device_ids)
        if device is None:
            described = ", ".join(f"{kind}:{value}" for kind, value in transition.device_ids)
            return TransitionOutcome.refused(errors.DEVICE_NOT_FOUND, transition.account, described)
        allowed_from, to = TRANSITIONS[transition.action]
        if self.inventory.move(transition.account, device["deviceKey"], allowed_from, to, transition.key):
            return TransitionOutcome(True, to)
        current = self.inventory.device(transition.account, device["deviceKey"]) or device
        if current.get("lastRequest") == transition.key:  # our own earlier attempt already moved it
            return TransitionOutcome(True, str(current["state"]))
        error, arguments = refusal(transition.action, str(current["state"]))
        return TransitionOutcome.refused(error, *arguments)

    def list_devices(self, account: str, device_id: tuple[str, str] | None, after: int, limit: int) -> DevicePage:
        if device_id is not None:
            device = self.inventory.find_device(account, [device_id])
            return DevicePage([_device_state(device)] if device is not None else [], False)
        found, more = self.inventory.page(account, after, limit)
        return DevicePage([_device_state(item) for item in found], more)


class HttpBackend:
    """A carrier system over HTTP: POST <base>/<action> {requestId, accountName, deviceIds, options}.

    It answers 2xx {"state"} when done, or 4xx {"errorCode", "errorMessage"} to refuse; anything else is
    "unavailable" and retried. `Idempotency-Key` names the (request, device) so its retries change nothing.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("THINGSPACE_BACKEND_URL must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def apply(self, transition: DeviceTransition) -> TransitionOutcome:
        body = json.dumps(
            {
                "requestId": transition.request_id,
                "accountName": transition.account,
                "deviceIds": [{"id": value, "kind": kind} for kind, value in transition.device_ids],
                "options": dict(transition.options),
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.base_url}/{transition.action.value}",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": transition.key},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = _json(response.read())
                return TransitionOutcome(True, str(answer.get("state") or TRANSITIONS[transition.action][1]))
        except urllib.error.HTTPError as error:
            answer = _json(error.read())
            if 400 <= error.code < 500 and isinstance(answer.get("errorCode"), str):
                return TransitionOutcome(False, None, answer["errorCode"], str(answer.get("errorMessage", "")))
            raise BackendUnavailable(f"backend answered {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise BackendUnavailable(type(error).__name__) from None

    def list_devices(self, account: str, device_id: tuple[str, str] | None, after: int, limit: int) -> DevicePage:
        """POST <base>/list {accountName, deviceId?, lastSeenDeviceId, maxNumberOfDevices} ->
        {devices: [{number, deviceIds: [{id, kind}], state, createdAt?}], hasMoreData}."""
        query: dict[str, Any] = {"accountName": account, "lastSeenDeviceId": after, "maxNumberOfDevices": limit}
        if device_id is not None:
            query["deviceId"] = {"kind": device_id[0], "id": device_id[1]}
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.base_url}/list",
            data=json.dumps(query).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = _json(response.read())
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise BackendUnavailable(type(error).__name__) from None
        try:
            devices = [
                DeviceState(
                    int(d.get("number", 0)),
                    {i["kind"]: i["id"] for i in d["deviceIds"]},
                    str(d["state"]),
                    d.get("createdAt"),
                )
                for d in answer.get("devices", [])
            ]
        except (KeyError, TypeError, ValueError):
            raise BackendUnavailable("the backend's device list is not readable") from None
        return DevicePage(devices, bool(answer.get("hasMoreData")))


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def configured_backend() -> ProvisioningBackend:
    settings = get_settings()
    if settings.thingspace_backend == "http":
        return HttpBackend(settings.thingspace_backend_url)
    return TableBackend()
