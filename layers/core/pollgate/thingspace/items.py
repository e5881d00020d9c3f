"""Every item of the ThingSpace face in the one table, and the keys they are found by.

- OAuth client     TS#CLIENT#<clientKey> / CLIENT           {secretHash}
- its token        TS#CLIENT#<clientKey> / TOKEN            {nonce, notAfter}: the token is derived, never stored
- bearer token     TS#BEARER#<sha256 of the token> / BEARER {clientKey, notAfter}
- M2M user         TS#USER#<username> / USER                {passwordHash, accounts}
- login failures   TS#USER#<username> / FAILURES            {count, lockedUntil}: kept for unknown names too
                   (pollgate/login_failures.py)
- session          TS#SESSION#<sha256 of the token> / SESSION  {username, accounts, lastUsed}
- account          TS#ACCOUNT#<accountName> / ACCOUNT
- device           TS#ACCOUNT#<accountName> / DEVICE#<deviceKey>  {ids {kind: id}, state, lastRequest, transitions}:
                   deviceKey is the account's device number, 12 digits (oldest first; the device list pages by it)
- device counter   TS#ACCOUNT#<accountName> / DEVICECOUNT             {last}: the last device number given
- device id        TS#ACCOUNT#<accountName> / ID#<kind>#<id>      {deviceKey}: a device found by any of its ids,
                   and no id names two devices
- callback         TS#ACCOUNT#<accountName> / CALLBACK#<serviceName>  {url, username, password, signingSecret}
- device result    TS#REQUEST#<requestId> / DEVICE#<index, 5 digits>  {deviceIds, status, state | fault, callback...}
- a device action in flight is an operation (pollgate/items.py) of kind thingspace.deviceAction; its callbacks are
  the webhook engine's deliveries, owner kind thingspace.carrierService
"""

from __future__ import annotations

from pollgate.store import Key

# The webhook engine's owner kind of CarrierService callbacks (their deliveries: pollgate/items.py).
CALLBACK_OWNER_KIND = "thingspace.carrierService"
DEVICE_PREFIX = "DEVICE#"
CALLBACK_PREFIX = "CALLBACK#"


def client(client_key: str) -> Key:
    return Key(f"TS#CLIENT#{client_key}", "CLIENT")


def client_token(client_key: str) -> Key:
    return Key(f"TS#CLIENT#{client_key}", "TOKEN")


def bearer(digest: str) -> Key:
    return Key(f"TS#BEARER#{digest}", "BEARER")


def user(username: str) -> Key:
    return Key(f"TS#USER#{username}", "USER")


def login_failures(username: str) -> Key:
    return Key(f"TS#USER#{username}", "FAILURES")


def session(digest: str) -> Key:
    return Key(f"TS#SESSION#{digest}", "SESSION")


def account_partition(account: str) -> str:
    """The partition of everything an account holds: devices, their ids, callbacks."""
    return f"TS#ACCOUNT#{account}"


def account(account: str) -> Key:
    return Key(account_partition(account), "ACCOUNT")


def device(account: str, device_key: str) -> Key:
    return Key(account_partition(account), f"{DEVICE_PREFIX}{device_key}")


def device_counter(account: str) -> Key:
    return Key(account_partition(account), "DEVICECOUNT")


def device_key(number: int) -> str:
    """A device's key: its number in the account, so that keys sort as devices were added."""
    return f"{number:012d}"


def device_id(account: str, kind: str, value: str) -> Key:
    return Key(account_partition(account), f"ID#{kind}#{value}")


def callback(account: str, service_name: str) -> Key:
    return Key(account_partition(account), f"{CALLBACK_PREFIX}{service_name}")


def request_results(request_id: str) -> str:
    """The partition of one request's device results (sk prefix DEVICE_PREFIX)."""
    return f"TS#REQUEST#{request_id}"


def device_result(request_id: str, index: int) -> Key:
    return Key(request_results(request_id), f"{DEVICE_PREFIX}{index:05d}")
