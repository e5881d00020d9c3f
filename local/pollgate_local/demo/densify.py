"""Demo data for the Densify subscriptions face: two users, the sample result records, two subscriptions.

The users are made the way an operator makes them (`python -m pollgate.densify.operator add-user`, here its
function) with fixed local-only passwords, so the README's curl lines work against `make run` as printed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pollgate.densify.auth import UserStore
from pollgate.densify.operator import SAMPLE_RECORDS
from pollgate.densify.records import RecordsDocument, RecordStore

if TYPE_CHECKING:
    from pollgate_local.demo import DemoContext

# Local demo credentials only: the local runtime's table lives in memory and ends with it.
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password-local-only"
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-password-local-only"

DOWNSIZE: dict[str, Any] = {
    "subscriptionName": "Downsize candidates in production",
    "description": "Cloud instances to downsize, production only, not excluded by their owner",
    "propertyReferences": [{"propertyID": "recommendationType", "operator": "=", "values": ["Downsize"]}],
    "tagReferences": [{"tagID": "Environment", "operator": "=", "values": ["prod"]}],
    "suppressionReferences": [{"suppressionID": "Excluded By Owner", "operator": "=", "values": ["true"]}],
    "returnStructure": {
        "properties": [
            {"propertyID": "currentType", "useAlias": True},
            {"propertyID": "recommendedType", "useAlias": True},
            {"propertyID": "savingsEstimate", "useAlias": True},
        ],
        "tags": [{"tagID": "Business Unit", "useAlias": True}],
    },
    "schedule": {"dayofWeek": [1, 3, 5]},
}
CONTAINERS: dict[str, Any] = {
    "subscriptionName": "Over-requested containers",
    "owner": "",
    "propertyReferences": [{"propertyID": "currentCpuRequest", "operator": "[]", "values": ["500", "4000"]}],
}


def seed(ctx: DemoContext) -> list[str]:
    users = UserStore()
    users.add(DEMO_USER, DEMO_PASSWORD, replace=True)
    users.add(ADMIN_USER, ADMIN_PASSWORD, admin=True, replace=True)
    sample = json.loads(SAMPLE_RECORDS.read_text())
    for platform in ("cloud", "containers"):
        RecordStore().publish(platform, RecordsDocument.model_validate(sample[platform]))

    demo = _bearer(ctx, DEMO_USER, DEMO_PASSWORD)
    admin = _bearer(ctx, ADMIN_USER, ADMIN_PASSWORD)
    status, created = ctx.request("POST", "/subscriptions/cloud", [DOWNSIZE], demo)
    if status != 200:
        raise RuntimeError(f"creating the demo subscription answered {status}: {created}")
    ref = created[0]["subscriptionRef"]
    status, shared = ctx.request("POST", "/subscriptions/containers", [CONTAINERS], admin)
    if status != 200:
        raise RuntimeError(f"creating the global demo subscription answered {status}: {shared}")
    login = {"userName": DEMO_USER, "pwd": DEMO_PASSWORD}
    return [
        f"# users {DEMO_USER}/{DEMO_PASSWORD} and {ADMIN_USER}/{ADMIN_PASSWORD} (admin); a token for {DEMO_USER}:",
        ctx.curl("POST", "/authorize", login),
        f"# with that token (valid 60 min): {demo['Authorization']}",
        ctx.curl("GET", "/subscriptions/cloud", headers=demo),
        ctx.curl("GET", f"/subscriptions/cloud/{ref}?divider=true&limit=100", headers=demo),
        ctx.curl("GET", f"/subscriptions/{ref}/status", headers=demo),
        ctx.curl("GET", f"/subscriptions/containers/{shared[0]['subscriptionRef']}", headers=demo),
        ctx.curl("GET", f"/subscriptions/cloud/{ref}/deliveries", headers=demo),
    ]


def _bearer(ctx: DemoContext, user: str, password: str) -> dict[str, str]:
    status, body = ctx.request("POST", "/authorize", {"userName": user, "pwd": password})
    if status != 200:
        raise RuntimeError(f"logging in {user} answered {status}: {body}")
    return {"Authorization": f"Bearer {body['apiToken']}"}
