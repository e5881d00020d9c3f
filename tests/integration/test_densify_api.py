"""The Densify face through its real handlers on moto: every endpoint, and every error it answers."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from pollgate import clock
from pollgate.densify.records import RecordsDocument, RecordStore
from pollgate.densify.subscriptions import SubscriptionStore
from pollgate.settings import reset_settings

from tests.helpers.densify import NOW, PASSWORD, TOKEN_KEY, Densify, assert_error, body, subscription

# ---------------------------------------------------------------------------------------------- /authorize


def test_authorize_issues_an_hs256_token_valid_for_60_minutes(densify: Densify) -> None:
    answer = densify.login("alice")
    assert answer["statusCode"] == 200
    issued = body(answer)
    assert issued["status"] == 200 and issued["expires"] == (int(NOW) + 3600) * 1000
    claims = jwt.decode(issued["apiToken"], TOKEN_KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["sub"] == "alice" and claims["exp"] == int(NOW) + 3600


def test_a_wrong_password_and_an_unknown_user_get_the_same_401(densify: Densify) -> None:
    wrong = densify.login("alice", "not the password")
    unknown = densify.login("mallory", "whatever it is")
    assert assert_error(wrong, 401) == "Unauthorized"
    assert body(unknown) == body(wrong)


def test_failed_logins_lock_the_user_for_a_growing_window(densify: Densify) -> None:
    with clock.frozen(NOW) as advance:
        # A mistyped password or two costs nothing: no lock before the third failure in a row.
        assert_error(densify.login("alice", "typo"), 401)
        assert densify.login("alice")["statusCode"] == 200
        for _ in range(3):
            assert_error(densify.login("alice", "guess"), 401)
        # Third failure: locked for 1 s, even with the right password.
        assert_error(densify.login("alice"), 401)
        advance(1.5)
        assert_error(densify.login("alice", "guess"), 401)  # fourth: 2 s
        advance(1.5)
        assert_error(densify.login("alice"), 401)
        advance(1)
        assert densify.login("alice")["statusCode"] == 200
        # Success forgets the failures: the next wrong guess does not lock.
        assert_error(densify.login("alice", "guess"), 401)
        assert densify.login("alice")["statusCode"] == 200


def test_authorize_refuses_a_body_that_is_not_json_with_415(densify: Densify) -> None:
    not_json = densify.fn["authorize"].http(
        "POST", "/authorize", body="userName=alice&pwd=x", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_error(not_json, 415)
    broken = densify.fn["authorize"].http("POST", "/authorize", body="{not json")
    assert_error(broken, 415)
    wrong_type = densify.fn["authorize"].http(
        "POST", "/authorize", body={"userName": "alice", "pwd": PASSWORD}, headers={"content-type": "text/plain"}
    )
    assert_error(wrong_type, 415)


def test_authorize_without_a_password_is_400(densify: Densify) -> None:
    assert "pwd" in assert_error(densify.fn["authorize"].http("POST", "/authorize", body={"userName": "a"}), 400)


@pytest.mark.parametrize("header", [None, "Bearer", "Basic YWxpY2U6eA==", "Bearer not-a-jwt"])
def test_calls_without_a_valid_token_are_401(densify: Densify, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    answer = densify.fn["list_subscriptions"].http("GET", "/subscriptions", headers=headers)
    assert assert_error(answer, 401) == "Unauthorized"


def test_expired_and_forged_tokens_are_401(densify: Densify) -> None:
    token = densify.token("alice")
    with clock.frozen(NOW + 3601):
        assert_error(densify.list(token), 401)
    forged = jwt.encode(
        {"sub": "root", "adm": True, "iss": "pollgate-densify", "exp": int(NOW) + 60}, "x" * 64, algorithm="HS256"
    )
    assert_error(densify.list(forged), 401)
    unsigned = jwt.encode(
        {"sub": "root", "adm": True, "iss": "pollgate-densify", "exp": int(NOW) + 60}, "", algorithm="none"
    )
    assert_error(densify.list(unsigned), 401)


# ---------------------------------------------------------------------------------------------- create / list


def test_create_answers_refs_and_names_and_the_list_shows_them(densify: Densify) -> None:
    alice = densify.token("alice")
    answer = densify.create(alice, [subscription("One"), subscription("Two")], "cloud")
    assert answer["statusCode"] == 200
    created = body(answer)
    assert [c["subscriptionName"] for c in created] == ["One", "Two"]
    assert all(c["signingSecret"].startswith("whsec_") for c in created)
    listed = body(densify.list(alice, "cloud"))
    assert {s["subscriptionRef"] for s in listed} == {c["subscriptionRef"] for c in created}
    assert listed[0]["owner"] == "alice" and listed[0]["active"] == "true"
    assert listed[0]["outputType"] == "application/json"
    # The path without a platform type is cloud; containers has none of them.
    assert {s["subscriptionRef"] for s in body(densify.list(alice))} == {c["subscriptionRef"] for c in created}
    assert body(densify.list(alice, "containers")) == []


def test_one_bad_item_creates_nothing(densify: Densify) -> None:
    alice = densify.token("alice")
    bad = subscription("Bad", propertyReferences=[{"propertyID": "savings", "operator": "[]", "values": ["1"]}])
    message = assert_error(densify.create(alice, [subscription("Good"), bad]), 400)
    assert "[]" in message
    assert body(densify.list(alice)) == []


def test_a_duplicate_name_in_the_store_creates_nothing(densify: Densify) -> None:
    alice = densify.token("alice")
    densify.create_one(alice, name="Taken")
    message = assert_error(densify.create(alice, [subscription("Fresh"), subscription("taken")]), 400)
    assert "taken" in message
    assert [s["subscriptionName"] for s in body(densify.list(alice))] == ["Taken"]
    assert "twice" in assert_error(densify.create(alice, [subscription("Same"), subscription("Same")]), 400)


def test_names_are_unique_per_owner_and_per_platform_when_global(densify: Densify) -> None:
    alice, bob, root = densify.token("alice"), densify.token("bob"), densify.token("root")
    densify.create_one(alice, name="Shared name")
    densify.create_one(bob, name="Shared name")  # another owner: fine
    densify.create_one(root, name="Global one", owner="")
    densify.create_one(
        root,
        "containers",
        name="Global one",
        owner="",
        propertyReferences=[{"propertyID": "x", "operator": "=", "values": ["y"]}],
    )
    assert_error(densify.create(root, [subscription("Global one", owner="")], "cloud"), 400)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"subscriptionName": ""}, "subscriptionName"),
        ({"outputType": "text/csv"}, "outputType"),
        ({"active": "yes"}, "active"),
        ({"webhook": {"uri": "ftp://example.com/x"}}, "webhook.uri"),
        ({"webhook": {"uri": "https://example.com/x", "authType": "digest", "authValue": "x"}}, "webhook.authType"),
        ({"webhook": {"uri": "https://example.com/x", "authType": "bearer"}}, "authValue"),
        ({"webhook": {"uri": "https://example.com/x", "authValue": "secret"}}, "authType"),
        ({"propertyReferences": []}, "at least one"),
        ({"propertyReferences": [{"propertyID": "savings", "operator": ">", "values": ["1"]}]}, "operator"),
        ({"propertyReferences": [{"propertyID": "savings", "operator": "=", "values": []}]}, "values"),
        ({"propertyReferences": [{"propertyID": "nope", "operator": "=", "values": ["1"]}]}, "propertyID nope"),
        ({"tagReferences": [{"tagID": "Cost Centre", "operator": "=", "values": ["1"]}]}, "tagID Cost Centre"),
        ({"returnStructure": {"properties": [{"propertyID": "nope"}]}}, "propertyID nope"),
        ({"schedule": {"dayofWeek": [0]}}, "dayofWeek"),
        ({"schedule": {"dayofWeek": [8]}}, "dayofWeek"),
        ({"schedule": {"dayofWeek": []}}, "dayofWeek"),
    ],
)
def test_every_field_is_validated(densify: Densify, fields: dict[str, Any], expected: str) -> None:
    message = assert_error(densify.create(densify.token("alice"), [subscription(**fields)]), 400)
    assert expected in message


# Refused at registration by their form alone, each a 400 naming the field (README "Webhooks"); nothing resolved.
URLS_REFUSED_BY_FORM = [
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://[::1]/hook",
    "http://user:pass@hooks.example.com/hook",
    "http://hooks.example.com:0/hook",
    "http://hooks.example.com:65536/hook",
    "http://localhost/hook",
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://240.0.0.1/hook",
]


@pytest.mark.parametrize("uri", URLS_REFUSED_BY_FORM)
def test_webhook_urls_refused_by_their_form_are_400_at_create_and_put(densify: Densify, uri: str) -> None:
    alice = densify.token("alice")
    message = assert_error(densify.create(alice, [subscription(webhook={"uri": uri})]), 400)
    assert "webhook.uri" in message
    ref = densify.create_one(alice, webhook={"uri": "https://hooks.example.com/ok"})
    answer = densify.call(
        "replace_subscription", "PUT", f"/subscriptions/cloud/{ref}", alice, body=subscription(webhook={"uri": uri})
    )
    assert "webhook.uri" in assert_error(answer, 400)


def test_the_allow_list_admits_loopback_webhooks_at_registration(
    densify: Densify, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local runtime's WEBHOOK_ALLOW_HOSTS (loopback) applies at registration as at delivery: demos work."""
    monkeypatch.setenv("WEBHOOK_ALLOW_HOSTS", "127.0.0.1/8,::1")
    reset_settings()
    alice = densify.token("alice")
    assert densify.create_one(alice, webhook={"uri": "http://127.0.0.1:8080/hook"})
    assert "webhook.uri" in assert_error(
        densify.create(alice, [subscription(webhook={"uri": "http://10.0.0.1/"})]), 400
    )


def test_create_needs_a_json_array(densify: Densify) -> None:
    alice = densify.token("alice")
    assert_error(densify.create(alice, subscription()), 400)
    assert_error(densify.create(alice, []), 400)
    assert_error(densify.create(alice, "[{", headers={"content-type": "application/json"}), 415)
    assert_error(densify.create(alice, [subscription()], headers={"content-type": "text/plain"}), 415)


def test_only_admins_define_global_subscriptions(densify: Densify) -> None:
    alice = densify.token("alice")
    assert "administrators" in assert_error(densify.create(alice, [subscription(owner="")]), 400)
    assert "own user name" in assert_error(densify.create(alice, [subscription(owner="bob")]), 400)
    assert densify.create(densify.token("root"), [subscription(owner="")])["statusCode"] == 200


def test_list_types_and_visibility(densify: Densify) -> None:
    alice, bob, root = densify.token("alice"), densify.token("bob"), densify.token("root")
    mine = densify.create_one(alice, name="Alice's")
    theirs = densify.create_one(bob, name="Bob's")
    shared = densify.create_one(root, name="Everyone's", owner="")

    def refs(token: str, **query: str) -> set[str]:
        answer = densify.list(token, "cloud", query=query or None)
        assert answer["statusCode"] == 200, answer
        return {s["subscriptionRef"] for s in body(answer)}

    assert refs(alice) == {mine, shared}
    assert refs(alice, type="global") == {shared}
    assert refs(alice, type="owner") == {mine}
    assert refs(alice, type="owner", owner="bob") == set()  # never another user's private subscriptions
    assert refs(bob, type="all") == {theirs, shared}
    assert refs(alice, subscriptionRef=shared) == {shared}
    assert_error(densify.list(alice, "cloud", query={"subscriptionRef": theirs}), 404)
    assert_error(densify.list(alice, "cloud", query={"type": "everything"}), 400)
    assert_error(densify.list(alice, "hybrid"), 404)


def test_the_list_hides_the_webhook_credential_and_shows_the_signing_secret_to_the_owner(densify: Densify) -> None:
    alice, bob = densify.token("alice"), densify.token("bob")
    webhook = {"uri": "https://hooks.example.com/densify", "authType": "bearer", "authValue": "s3cret"}
    root = densify.token("root")
    shared = densify.create_one(root, name="Shared", owner="", webhook=webhook)
    own = densify.create_one(alice, name="Own", webhook=webhook)
    listed = {s["subscriptionRef"]: s for s in body(densify.list(alice))}
    assert "authValue" not in listed[own]["webhook"] and listed[own]["webhook"]["authType"] == "bearer"
    assert listed[own]["webhook"]["signingSecret"].startswith("whsec_")
    assert "signingSecret" not in listed[shared]["webhook"]  # a global one: only admins may see it
    assert "signingSecret" not in json.dumps(body(densify.list(bob)))


# ---------------------------------------------------------------------------------------------- replace / delete


def test_put_replaces_the_whole_definition(densify: Densify) -> None:
    alice = densify.token("alice")
    ref = densify.create_one(alice, name="Before", description="old")
    replacement = subscription("After", tagReferences=[{"tagID": "Environment", "operator": "=", "values": ["prod"]}])
    del replacement["description"]
    with clock.frozen(NOW + 60):
        answer = densify.call("replace_subscription", "PUT", f"/subscriptions/cloud/{ref}", alice, body=replacement)
    assert answer["statusCode"] == 200, answer
    stored = SubscriptionStore().get(ref)
    assert stored is not None and stored.name == "After" and stored.definition["description"] == ""
    assert stored.updated == NOW + 60 and stored.created == NOW
    # The old name is free again; the new one is taken.
    densify.create_one(alice, name="Before")
    assert_error(densify.create(alice, [subscription("after")]), 400)


def test_put_keeps_a_webhook_credential_left_out_of_a_get_then_put(densify: Densify) -> None:
    alice = densify.token("alice")
    webhook = {"uri": "https://hooks.example.com/a", "authType": "bearer", "authValue": "s3cret"}
    ref = densify.create_one(alice, webhook=webhook)
    listed = body(densify.list(alice))[0]
    answer = densify.call("replace_subscription", "PUT", f"/subscriptions/{ref}", alice, body=listed)
    assert answer["statusCode"] == 200, answer
    stored = SubscriptionStore().get(ref)
    assert stored is not None and stored.definition["webhook"]["authValue"] == "s3cret"
    moved = {**listed, "webhook": {"uri": "https://elsewhere.example.com/", "authType": "bearer"}}
    assert "authValue" in assert_error(
        densify.call("replace_subscription", "PUT", f"/subscriptions/{ref}", alice, body=moved), 400
    )


def test_put_and_delete_of_someone_elses_subscription_are_404(densify: Densify) -> None:
    alice, bob, root = densify.token("alice"), densify.token("bob"), densify.token("root")
    ref = densify.create_one(alice)
    shared = densify.create_one(root, name="Shared", owner="")
    assert_error(densify.call("replace_subscription", "PUT", f"/subscriptions/{ref}", bob, body=subscription()), 404)
    assert_error(densify.call("delete_subscription", "DELETE", f"/subscriptions/{ref}", bob), 404)
    assert_error(densify.call("delete_subscription", "DELETE", f"/subscriptions/containers/{ref}", alice), 404)
    assert_error(densify.call("delete_subscription", "DELETE", "/subscriptions/no-such-ref", alice), 404)
    # A global one is visible to everyone but changed only by admins.
    assert "administrators" in assert_error(
        densify.call("delete_subscription", "DELETE", f"/subscriptions/{shared}", alice), 400
    )
    assert densify.call("delete_subscription", "DELETE", f"/subscriptions/{shared}", root)["statusCode"] == 204


def test_delete_answers_204_and_frees_the_name(densify: Densify) -> None:
    alice = densify.token("alice")
    ref = densify.create_one(alice, name="Gone soon")
    answer = densify.call("delete_subscription", "DELETE", f"/subscriptions/cloud/{ref}", alice)
    assert answer["statusCode"] == 204 and not answer.get("body")
    assert_error(densify.status(alice, ref), 404)
    densify.create_one(alice, name="Gone soon")


def test_bulk_delete_is_all_or_nothing(densify: Densify) -> None:
    alice, bob = densify.token("alice"), densify.token("bob")
    first, second = densify.create_one(alice, name="A"), densify.create_one(alice, name="B")
    not_hers = densify.create_one(bob, name="C")
    refused = densify.call("delete_subscriptions", "DELETE", "/subscriptions", alice, body=[first, not_hers])
    assert_error(refused, 404)
    assert len(body(densify.list(alice))) == 2
    done = densify.call(
        "delete_subscriptions", "DELETE", "/subscriptions/cloud", alice, body=[first, {"subscriptionRef": second}]
    )
    assert done["statusCode"] == 204
    assert body(densify.list(alice)) == []
    assert_error(densify.call("delete_subscriptions", "DELETE", "/subscriptions", alice, body={"refs": []}), 400)


# ---------------------------------------------------------------------------------------------- results / status


def test_on_demand_results_filter_shape_and_stamp_last_triggered(densify: Densify) -> None:
    alice = densify.token("alice")
    ref = densify.create_one(
        alice,
        returnStructure={
            "properties": [{"propertyID": "recommendationType", "useAlias": True}, {"propertyID": "savings"}],
            "tags": [{"tagID": "Business Unit", "useAlias": True}],
        },
        suppressionReferences=[{"suppressionID": "Excluded", "operator": "=", "values": ["true"]}],
    )
    answer = densify.results(alice, ref, "cloud", query={"divider": "true"})
    assert answer["statusCode"] == 200, answer
    document = body(answer)
    assert document["count"] == 1  # i-2 is a Downsize too, but suppressed
    assert document["results"] == [
        {"Recommendation": "Downsize", "savings": 120.5, "divider": "------------------------", "BU": "Finance"}
    ]
    assert document["subscription"] == {
        "name": "Downsizing",
        "description": "downsize candidates",
        "created": "Wed Nov 18 11:06:40 UTC 2026",
        "createdBy": "alice",
        "updated": "Wed Nov 18 11:06:40 UTC 2026",
        "updatedBy": "alice",
        "lastRefreshed": "Wed Nov 18 11:06:40 UTC 2026",
        "owner": "alice",
    }
    assert body(densify.status(alice, ref)) == {
        "lastTriggered": "On-Demand Success. Wed Nov 18 11:06:40 UTC 2026",
        "webHookStatus": "",
    }


def test_range_and_like_filters(densify: Densify) -> None:
    alice = densify.token("alice")
    ranged = densify.create_one(
        alice,
        name="Savings 100-400",
        propertyReferences=[{"propertyID": "savings", "operator": "[]", "values": ["100", "400"]}],
    )
    liked = densify.create_one(
        alice,
        name="US regions",
        propertyReferences=[{"propertyID": "region", "operator": "like", "values": ["us-%"]}],
        returnStructure={"properties": [{"propertyID": "region"}]},
    )
    assert body(densify.results(alice, ranged))["count"] == 2
    assert [r["region"] for r in body(densify.results(alice, liked))["results"]] == [
        "us-east-1",
        "us-west-2",
        "us-east-2",
    ]


def test_over_the_limit_is_400_and_an_on_demand_failure(densify: Densify) -> None:
    alice = densify.token("alice")
    ref = densify.create_one(
        alice, propertyReferences=[{"propertyID": "savings", "operator": "[]", "values": ["0", "1000"]}]
    )
    message = assert_error(densify.results(alice, ref, query={"limit": "3"}), 400)
    assert message.startswith("On-Demand Failure. The return count of 4 has exceeded object return limit of 3.")
    assert (
        body(densify.status(alice, ref, "cloud"))["lastTriggered"] == "On-Demand Failure. Wed Nov 18 11:06:40 UTC 2026"
    )
    for bad in ("0", "30001", "ten"):
        assert "limit" in assert_error(densify.results(alice, ref, query={"limit": bad}), 400)
    assert "divider" in assert_error(densify.results(alice, ref, query={"divider": "maybe"}), 400)
    assert body(densify.results(alice, ref, query={"limit": "30000"}))["count"] == 4


def test_results_and_status_of_an_invisible_subscription_are_404(densify: Densify) -> None:
    alice, bob = densify.token("alice"), densify.token("bob")
    ref = densify.create_one(alice)
    assert_error(densify.results(bob, ref), 404)
    assert_error(densify.status(bob, ref), 404)
    assert_error(densify.results(alice, ref, "containers"), 404)
    assert_error(densify.status(alice, "00000000-0000-0000-0000-000000000000", "cloud"), 404)
    assert_error(densify.status(None, ref), 401)


def test_containers_subscriptions_select_container_records(densify: Densify) -> None:
    RecordStore().publish(
        "containers",
        RecordsDocument.model_validate(
            {"properties": [{"id": "cluster"}], "systems": [{"id": "pod-1", "properties": {"cluster": "east"}}]}
        ),
    )
    alice = densify.token("alice")
    ref = densify.create_one(
        alice, "containers", propertyReferences=[{"propertyID": "cluster", "operator": "=", "values": ["EAST"]}]
    )
    document = body(densify.results(alice, ref, "containers"))
    assert document["count"] == 1 and document["results"] == [{"cluster": "east"}]
    assert_error(densify.results(alice, ref), 404)  # no platform = cloud
