"""The vendor's device list through the real handler on the local stack: by account, by one device id, paging with
hasMoreData/lastSeenDeviceId, each device's ids and state as the provisioning backend has them."""

from __future__ import annotations

import json
from typing import Any

from tests.aws_fixtures import http_event
from tests.helpers.thingspace import ACCOUNT, ACTIONS, OTHER, World


def listed(world: World, headers: dict[str, str] | None = None, **request: Any) -> tuple[int, Any]:
    answer = world.stack.invoke(
        "ThingSpaceListDevicesFunction",
        http_event(
            "POST", f"{ACTIONS}/list", body={"accountName": ACCOUNT, **request}, headers=headers or world.headers
        ),
    )
    return answer["statusCode"], json.loads(answer["body"])


def test_the_list_answers_each_devices_ids_and_state_oldest_first(world: World) -> None:
    world.device(imei="350000000000001", iccid="89148000000000000001")
    world.device("active", imei="350000000000002")
    status, answer = listed(world)
    assert status == 200
    assert answer["hasMoreData"] is False and "lastSeenDeviceId" not in answer
    assert [(d["deviceIds"], d["carrierInformations"][0]["state"]) for d in answer["devices"]] == [
        ([{"id": "89148000000000000001", "kind": "iccid"}, {"id": "350000000000001", "kind": "imei"}], "pre-active"),
        ([{"id": "350000000000002", "kind": "imei"}], "active"),
    ]
    assert {d["accountName"] for d in answer["devices"]} == {ACCOUNT}


def test_the_list_follows_a_device_action(world: World) -> None:
    world.device(imei="350000000000003")
    world.run("activate", {"imei": "350000000000003"})
    _, answer = listed(world, deviceId={"kind": "IMEI", "id": "350000000000003"})
    assert [d["carrierInformations"][0]["state"] for d in answer["devices"]] == ["active"]


def test_one_device_by_id_and_an_unknown_id_lists_none(world: World) -> None:
    world.device(imei="350000000000004", iccid="89148000000000000004")
    world.device(imei="350000000000005")
    _, answer = listed(world, deviceId={"kind": "iccid", "id": "89148000000000000004"})
    assert [d["deviceIds"][1]["id"] for d in answer["devices"]] == ["350000000000004"]
    assert listed(world, deviceId={"kind": "imei", "id": "999"})[1] == {"devices": [], "hasMoreData": False}


def test_pages_go_on_from_the_last_seen_device(world: World) -> None:
    for n in range(7):
        world.device(imei=f"35000000000010{n}")
    seen: list[str] = []
    request: dict[str, Any] = {"maxNumberOfDevices": 3}
    pages = 0
    while True:
        status, answer = listed(world, **request)
        assert status == 200
        pages += 1
        seen += [d["deviceIds"][0]["id"] for d in answer["devices"]]
        if not answer["hasMoreData"]:
            break
        request = {"maxNumberOfDevices": 3, "lastSeenDeviceId": answer["lastSeenDeviceId"]}
    assert seen == [f"35000000000010{n}" for n in range(7)]
    assert pages == 3
    # the vendor SDK's name for the same thing
    _, second = listed(world, maxNumberOfDevices=3, largestDeviceIdSeen=3)
    assert [d["deviceIds"][0]["id"] for d in second["devices"]] == seen[3:6]


def test_current_state_keeps_only_devices_in_that_state(world: World) -> None:
    world.device(imei="350000000000201")
    world.device("suspend", imei="350000000000202")
    _, answer = listed(world, currentState="Suspend")
    assert [d["deviceIds"][0]["id"] for d in answer["devices"]] == ["350000000000202"]


def test_another_accounts_devices_and_bad_requests_are_refused_in_the_vendors_shape(world: World) -> None:
    world.inventory.add_device(OTHER, {"imei": "350000000000301"})
    status, answer = listed(world, accountName=OTHER)
    assert (status, answer["errorCode"]) == (400, "REQUEST_FAILED.AccountNotFound")
    status, answer = listed(world, maxNumberOfDevices=0)
    assert (status, answer["errorCode"]) == (400, "INPUT_INVALID.MaxNumberOfDevices.Invalid")
    status, answer = listed(world, headers={"authorization": world.headers["authorization"]})
    assert (status, answer["errorCode"]) == (400, "INPUT_INVALID.SessionToken.Invalid")
