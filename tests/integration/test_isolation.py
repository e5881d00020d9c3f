"""Isolation: every read and write endpoint called with another tenant's IDs answers the face's "not found" (or
refusal), never data, and changes nothing. Densify tenants are owners; ThingSpace tenants are accounts.
(UAI has one producer per stack: its polling IDs are unguessable capabilities, 122 random bits.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.aws_fixtures import http_event
from tests.helpers.densify import Densify, assert_error, subscription
from tests.helpers.thingspace import ACCOUNT, OTHER, World

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_densify_every_endpoint_hides_another_owners_subscription(densify: Densify) -> None:
    alice, bob = densify.token("alice"), densify.token("bob")
    ref = densify.create_one(alice, name="Alice's", webhook={"uri": "https://example.com/hook"})
    before = densify.results(alice, ref)
    assert before["statusCode"] == 200

    unknown = "00000000-0000-4000-8000-000000000000"
    # (function, method, path after /subscriptions[/cloud] with REF for the subscription, body)
    endpoints: list[tuple[str, str, str, Any]] = [
        ("get_results", "GET", "/REF", None),
        ("get_status", "GET", "/REF/status", None),
        ("list_deliveries", "GET", "/REF/deliveries", None),
        ("resend_delivery", "POST", "/REF/deliveries/d-1/resend", None),
        ("replace_subscription", "PUT", "/REF", subscription("Taken over")),
        ("delete_subscription", "DELETE", "/REF", None),
        ("delete_subscriptions", "DELETE", "", ["REF"]),
    ]

    def call(platform: str, endpoint: tuple[str, str, str, Any], target: str) -> dict[str, Any]:
        function, method, suffix, payload = endpoint
        body = json.loads(json.dumps(payload).replace("REF", target)) if payload is not None else None
        extra = {"body": body} if body is not None else {}
        return densify.call(function, method, f"/subscriptions{platform}{suffix.replace('REF', target)}", bob, **extra)

    calls = [(f"{e[1]} {p}{e[2]}", p, e) for p in ("", "/cloud") for e in endpoints]
    for name, platform, endpoint in calls:
        answer = call(platform, endpoint, ref)
        assert_error(answer, 404)
        # Indistinguishable from a subscription that never existed: no data, no hint it is someone else's.
        never = call(platform, endpoint, unknown)
        assert answer["body"].replace(ref, "REF") == never["body"].replace(unknown, "REF"), name

    filtered, never_listed = (
        densify.list(bob, query={"subscriptionRef": ref}),
        densify.list(bob, query={"subscriptionRef": unknown}),
    )
    assert filtered["statusCode"] == never_listed["statusCode"]
    assert filtered["body"].replace(ref, "REF") == never_listed["body"].replace(unknown, "REF")
    for query in ({"type": "owner", "owner": "alice"}, {"type": "all"}, {}):
        listed = densify.list(bob, query=query)
        assert listed["statusCode"] == 200
        assert ref not in listed["body"], query
    after = densify.results(alice, ref)
    assert json.loads(after["body"])["subscription"]["name"] == "Alice's"  # nothing changed for its owner


def test_thingspace_every_endpoint_refuses_another_accounts_ids(world: World) -> None:
    alice_device = world.device(imei="990000862471854")
    request_id = world.run("activate", alice_device)
    world.stack.invoke(
        "ThingSpaceRegisterCallbackFunction",
        http_event(
            "POST",
            f"/api/m2m/v1/callbacks/{ACCOUNT}",
            route="/api/m2m/v1/callbacks/{accountname}",
            path_parameters={"accountname": ACCOUNT},
            headers=world.headers,
            body={"name": "CarrierService", "url": "https://example.com/alice", "username": "u", "password": "p"},
        ),
    )
    bob = world.headers_for("bob", "bob-password")

    def refused(answer: dict[str, Any], what: str) -> None:
        assert 400 <= answer["statusCode"] < 500, (what, answer)
        assert set(json.loads(answer["body"])) <= {"errorCode", "errorMessage", "fault"}, what
        assert "example.com/alice" not in answer["body"] and request_id not in answer["body"].replace(
            f'"{request_id}"', ""
        ), what

    refused(
        world.stack.invoke(
            "ThingSpaceRequestStatusFunction",
            http_event(
                "GET",
                f"/api/m2m/v1/accounts/{ACCOUNT}/requests/{request_id}/status",
                route="/api/m2m/v1/accounts/{accountname}/requests/{requestID}/status",
                path_parameters={"accountname": ACCOUNT, "requestID": request_id},
                headers=bob,
            ),
        ),
        "status, alice's account",
    )
    code, answer = world.status(request_id, account=OTHER, headers=bob)
    assert code == 400 and "status" not in answer, "status of alice's request through bob's own account"
    for action in ("activate", "deactivate", "suspend", "restore"):
        refused(world.submit(action, alice_device, headers=bob), f"{action} on alice's account")
    refused(
        world.stack.invoke(
            "ThingSpaceListDevicesFunction",
            http_event("POST", "/api/m2m/v1/devices/actions/list", body={"accountName": ACCOUNT}, headers=bob),
        ),
        "list alice's devices",
    )
    refused(
        world.stack.invoke(
            "ThingSpaceListCallbacksFunction",
            http_event(
                "GET",
                f"/api/m2m/v1/callbacks/{ACCOUNT}",
                route="/api/m2m/v1/callbacks/{accountname}",
                path_parameters={"accountname": ACCOUNT},
                headers=bob,
            ),
        ),
        "list alice's callbacks",
    )
    refused(
        world.stack.invoke(
            "ThingSpaceRegisterCallbackFunction",
            http_event(
                "POST",
                f"/api/m2m/v1/callbacks/{ACCOUNT}",
                route="/api/m2m/v1/callbacks/{accountname}",
                path_parameters={"accountname": ACCOUNT},
                headers=bob,
                body={"name": "CarrierService", "url": "https://example.com/bob"},
            ),
        ),
        "replace alice's listener",
    )
    refused(
        world.stack.invoke(
            "ThingSpaceDeleteCallbackFunction",
            http_event(
                "DELETE",
                f"/api/m2m/v1/callbacks/{ACCOUNT}/name/CarrierService",
                route="/api/m2m/v1/callbacks/{accountname}/name/{serviceName}",
                path_parameters={"accountname": ACCOUNT, "serviceName": "CarrierService"},
                headers=bob,
            ),
        ),
        "delete alice's listener",
    )
    # Alice's device addressed from bob's own account is simply not there.
    foreign = world.run("activate", alice_device, account=OTHER, headers=bob)
    assert world.fault(foreign) == "REQUEST_FAILED.DeviceNotFound"
    # Nothing of alice's changed.
    assert world.state_of(**alice_device) == ("active", 1)
    listed = world.stack.invoke(
        "ThingSpaceListCallbacksFunction",
        http_event(
            "GET",
            f"/api/m2m/v1/callbacks/{ACCOUNT}",
            route="/api/m2m/v1/callbacks/{accountname}",
            path_parameters={"accountname": ACCOUNT},
            headers=world.headers,
        ),
    )
    assert "example.com/alice" in listed["body"]
