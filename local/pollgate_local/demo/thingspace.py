"""Demo data for the ThingSpace face: an OAuth client, an account with a user and three devices, a token, a session.

The operator's part (client, account, user, devices) goes through the same stores the operator commands use;
the client's part (token, login, a first activation) goes over HTTP like any client.
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from pollgate.thingspace.auth import CredentialStore
from pollgate.thingspace.inventory import InventoryStore

if TYPE_CHECKING:
    from pollgate_local.demo import DemoContext

ACCOUNT = "0000123456-00001"
CLIENT_KEY = "demo-client"
USERNAME = "demo-user"
DEVICES = (
    ("990000862471854", "89148000000800784254", "pre-active"),
    ("990000862471855", "89148000000800784255", "active"),
    ("990000862471856", "89148000000800784256", "suspend"),
)


def seed(ctx: DemoContext) -> list[str]:
    client_secret, password = secrets.token_urlsafe(18), secrets.token_urlsafe(12)
    inventory, credentials = InventoryStore(), CredentialStore()
    inventory.add_account(ACCOUNT)
    credentials.add_client(CLIENT_KEY, client_secret)
    credentials.add_user(USERNAME, password, [ACCOUNT])
    for imei, iccid, state in DEVICES:
        inventory.add_device(ACCOUNT, {"imei": imei, "iccid": iccid}, state)

    basic = {
        "Authorization": "Basic " + base64.b64encode(f"{CLIENT_KEY}:{client_secret}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status, token = _form(ctx, basic)
    if status != 200:
        raise RuntimeError(f"the demo token request answered {status}: {token}")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    login = {"username": USERNAME, "password": password}
    status, session = ctx.request("POST", "/api/m2m/v1/session/login", login, bearer)
    if status != 200:
        raise RuntimeError(f"the demo login answered {status}: {session}")
    m2m = {**bearer, "VZ-M2M-Token": session["sessionToken"]}
    # Every M2M call must say Content-Type: application/json, even without a body (curl() adds it to bodies).
    m2m_get = {**m2m, "Content-Type": "application/json"}
    activate = {
        "accountName": ACCOUNT,
        "servicePlan": "M2M_4G",
        "mdnZipCode": "98101",
        "devices": [{"deviceIds": [{"kind": "imei", "id": DEVICES[0][0]}]}],
    }
    status, submitted = ctx.request("POST", "/api/m2m/v1/devices/actions/activate", activate, m2m)
    if status != 200:
        raise RuntimeError(f"the demo activation answered {status}: {submitted}")
    suspend = {**activate, "devices": [{"deviceIds": [{"kind": "iccid", "id": DEVICES[1][1]}]}]}
    callback = {
        "name": "CarrierService",
        "url": "https://listener.example/carrier",
        "username": "me",
        "password": "listener-password",
    }
    return [
        f"# client {CLIENT_KEY} (secret {client_secret}), user {USERNAME} (password {password}), account {ACCOUNT}",
        "# a bearer token (one hour; the same one again within the hour):",
        _curl_form(ctx, basic),
        "# a session token (expires after 20 minutes without use; 5 wrong passwords lock the user):",
        ctx.curl("POST", "/api/m2m/v1/session/login", login, bearer),
        "# the status of the activation the demo made (then activate, suspend, ... with the lines below):",
        ctx.curl("GET", f"/api/m2m/v1/accounts/{ACCOUNT}/requests/{submitted['requestId']}/status", headers=m2m_get),
        ctx.curl("POST", "/api/m2m/v1/devices/actions/suspend", suspend, m2m),
        ctx.curl(
            "POST",
            "/api/m2m/v1/devices/actions/restore",
            {**suspend, "devices": [{"deviceIds": [{"kind": "imei", "id": DEVICES[2][0]}]}]},
            m2m,
        ),
        "# CarrierService callbacks: register, list, delete:",
        ctx.curl("POST", f"/api/m2m/v1/callbacks/{ACCOUNT}", callback, m2m),
        ctx.curl("GET", f"/api/m2m/v1/callbacks/{ACCOUNT}", headers=m2m_get),
        ctx.curl("DELETE", f"/api/m2m/v1/callbacks/{ACCOUNT}/name/CarrierService", headers=m2m_get),
        ctx.curl("POST", "/api/m2m/v1/session/logout", headers=m2m_get),
    ]


def _form(ctx: DemoContext, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(  # noqa: S310 - the local runtime's own loopback API
        ctx.base_url + "/api/ts/v1/oauth2/token", data=b"grant_type=client_credentials", method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode(errors="replace")}


def _curl_form(ctx: DemoContext, headers: dict[str, str]) -> str:
    parts = ["curl", "-sS", "-i", "-X", "POST"]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["-d", "grant_type=client_credentials", ctx.base_url + "/api/ts/v1/oauth2/token"]
    return shlex.join(parts)
