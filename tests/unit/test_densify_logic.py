"""Densify logic without AWS: vendor dates and wording, filters, result shapes, schedules, passwords, lock-outs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pollgate.densify import schedule
from pollgate.densify.dates import epoch_of_iso, java_date
from pollgate.densify.http import DensifyError
from pollgate.densify.models import SubscriptionBody, SubscriptionRefs
from pollgate.densify.push import auth_header, describe
from pollgate.densify.records import Catalogue, matches, selected, shape, unknown_fields
from pollgate.densify.results import (
    on_demand_failure,
    over_limit_message,
    parse_divider,
    parse_limit,
    scheduled_failure,
    scheduled_success,
    webhook_failure,
    webhook_success,
)
from pollgate.errors import DomainError
from pollgate.login_failures import lock_seconds
from pollgate.passwords import hash_secret, verify_secret
from pydantic import ValidationError


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


# ------------------------------------------------------------------------------------------ dates, wording


def test_dates_print_like_java_date_to_string() -> None:
    assert java_date(at(2020, 1, 2, 16, 41, 52)) == "Thu Jan 02 16:41:52 UTC 2020"
    assert java_date(at(2026, 11, 22, 9, 5, 7)) == "Sun Nov 22 09:05:07 UTC 2026"


def test_status_wording_is_the_vendors() -> None:
    moment = at(2020, 1, 2, 16, 41, 52)
    assert on_demand_failure(moment) == "On-Demand Failure. Thu Jan 02 16:41:52 UTC 2020"
    assert scheduled_success(moment) == "Scheduled Success. Thu Jan 02 16:41:52 UTC 2020"
    assert scheduled_failure(moment) == "Scheduled-Failure. Thu Jan 02 16:41:52 UTC 2020"
    assert webhook_success("HTTP 200.", moment) == "Success. HTTP 200. Thu Jan 02 16:41:52 UTC 2020"
    assert webhook_failure("HTTP 500.", moment) == "Failure. HTTP 500. Thu Jan 02 16:41:52 UTC 2020"
    assert over_limit_message(3500, 3000).startswith(
        "On-Demand Failure. The return count of 3500 has exceeded object return limit of 3000. "
    )


def test_engine_times_parse() -> None:
    assert epoch_of_iso("2020-01-02T16:41:52.000Z") == at(2020, 1, 2, 16, 41, 52)


@pytest.mark.parametrize(("text", "limit"), [(None, 3000), ("", 3000), ("1", 1), ("30000", 30000)])
def test_limit_defaults_and_bounds(text: str | None, limit: int) -> None:
    assert parse_limit(text) == limit


@pytest.mark.parametrize("text", ["0", "30001", "-1", "1.5", "many"])
def test_limit_out_of_bounds_is_400(text: str) -> None:
    with pytest.raises(DomainError) as raised:
        parse_limit(text)
    assert DensifyError.refusing(raised.value).status == 400  # as the face answers it


def test_divider_is_true_or_false() -> None:
    assert parse_divider("TRUE") is True and parse_divider(None) is False
    with pytest.raises(DomainError):
        parse_divider("yes")


# ------------------------------------------------------------------------------------------ filters


@pytest.mark.parametrize(
    ("operator", "values", "value", "expected"),
    [
        ("=", ["Downsize"], "downsize", True),
        ("=", ["Downsize", "Modernize"], "Modernize", True),
        ("=", ["Downsize"], "Downsized", False),
        ("=", ["10"], 10.0, True),
        ("=", ["true"], True, True),
        ("[]", ["10", "100"], 10, True),
        ("[]", ["10", "100"], 100, True),
        ("[]", ["10", "100"], 100.01, False),
        ("[]", ["9", "100"], "50", True),  # numeric, not text order ("50" > "100" as text)
        ("[]", ["2026-01-01", "2026-06-30"], "2026-03-15", True),
        ("[]", ["2026-01-01", "2026-06-30"], "2026-07-01", False),
        ("like", ["us-%"], "us-east-1", True),
        ("like", ["us-%"], "eu-west-1", False),
        ("like", ["%-east-_"], "US-EAST-1", True),
        ("like", ["east"], "us-east-1", True),  # no wildcard: contains
        ("like", ["50%"], "50% off", True),
        ("=", ["x"], None, False),
    ],
)
def test_operators(operator: str, values: list[str], value: Any, expected: bool) -> None:
    assert matches({"operator": operator, "values": values}, value) is expected


SYSTEM = {
    "id": "i-1",
    "properties": {"type": "Downsize", "savings": 120},
    "tags": {"Env": "prod"},
    "suppressions": {"Excluded": "false"},
}


def test_references_combine_with_and_and_suppressions_remove() -> None:
    both = {
        "propertyReferences": [{"propertyID": "type", "operator": "=", "values": ["Downsize"]}],
        "tagReferences": [{"tagID": "Env", "operator": "=", "values": ["prod"]}],
    }
    assert selected(SYSTEM, both)
    assert not selected(SYSTEM, {**both, "tagReferences": [{"tagID": "Env", "operator": "=", "values": ["dev"]}]})
    assert not selected(
        SYSTEM, {**both, "suppressionReferences": [{"suppressionID": "Excluded", "operator": "=", "values": ["false"]}]}
    )
    assert not selected(SYSTEM, {"tagReferences": [{"tagID": "Missing", "operator": "like", "values": ["%"]}]})


def test_return_structure_keys_by_id_or_alias_and_places_the_divider() -> None:
    catalogue = Catalogue(properties={"type": "Recommendation", "savings": "Savings"}, tags={"Env": "Environment"})
    definition = {
        "returnStructure": {
            "properties": [{"propertyID": "type", "useAlias": True}, {"propertyID": "savings", "useAlias": False}],
            "tags": [{"tagID": "Env", "useAlias": True}],
        }
    }
    shaped = shape(SYSTEM, definition, catalogue, divider=True)
    assert list(shaped) == ["Recommendation", "savings", "divider", "Environment"]
    assert shaped["divider"] == "------------------------"
    assert shape(SYSTEM, {}, catalogue, divider=False) == {"type": "Downsize", "savings": 120, "Env": "prod"}


def test_unknown_field_ids_are_named_once_a_catalogue_is_published() -> None:
    definition = {"propertyReferences": [{"propertyID": "nope"}], "returnStructure": {"tags": [{"tagID": "Env"}]}}
    assert unknown_fields(definition, Catalogue()) == []
    published = Catalogue(properties={"type": "type"}, tags={"Env": "Env"}, last_refreshed=1.0)
    assert unknown_fields(definition, published) == ["propertyID nope"]


# ------------------------------------------------------------------------------------------ validation

BASE: dict[str, Any] = {
    "subscriptionName": "S",
    "tagReferences": [{"tagID": "Env", "operator": "=", "values": ["prod"]}],
}


def test_defaults_of_a_minimal_subscription() -> None:
    parsed = SubscriptionBody.model_validate(BASE)
    assert (parsed.outputType, parsed.active, parsed.owner, parsed.webhook) == ("application/json", "true", None, None)


@pytest.mark.parametrize(
    "change",
    [
        {"subscriptionName": "   "},
        {"subscriptionName": "x" * 129},
        {"description": "x" * 1025},
        {"active": True},
        {"schedule": {"dayofWeek": ["1"]}},
        {"schedule": {"dayofWeek": [1, 2, 3, 4, 5, 6, 7, 1]}},
        {"webhook": {"uri": "not a url"}},
        {"webhook": {"uri": "https://"}},
        {"tagReferences": [{"tagID": "", "operator": "=", "values": ["x"]}]},
        {"tagReferences": [{"tagID": "Env", "operator": "[]", "values": ["1", "2", "3"]}]},
        {"tagReferences": [{"tagID": "Env", "operator": "=", "values": ["x"] * 101}]},
        {"tagReferences": []},
    ],
)
def test_invalid_subscriptions_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SubscriptionBody.model_validate({**BASE, **change})


def test_days_are_deduplicated_and_sorted() -> None:
    parsed = SubscriptionBody.model_validate({**BASE, "schedule": {"dayofWeek": [5, 1, 5]}})
    assert parsed.schedule is not None and parsed.schedule.dayofWeek == [1, 5]


def test_bulk_delete_accepts_strings_and_objects() -> None:
    assert SubscriptionRefs.model_validate(["a", {"subscriptionRef": "b"}]).refs() == ["a", "b"]


# ------------------------------------------------------------------------------------------ schedule

WEDNESDAY_NOON = at(2026, 11, 18, 12)


def test_a_new_subscription_is_due_now_on_one_of_its_days() -> None:
    assert schedule.first_due(WEDNESDAY_NOON, None) == WEDNESDAY_NOON
    assert schedule.first_due(WEDNESDAY_NOON, {"dayofWeek": [3]}) == WEDNESDAY_NOON
    assert schedule.first_due(WEDNESDAY_NOON, {"dayofWeek": [1]}) == at(2026, 11, 23, 2)


def test_the_next_push_is_the_push_hour_of_the_next_allowed_day() -> None:
    assert schedule.next_due(WEDNESDAY_NOON, None) == at(2026, 11, 19, 2)
    assert schedule.next_due(WEDNESDAY_NOON, {"dayofWeek": [3]}) == at(2026, 11, 25, 2)  # a week later
    assert schedule.next_due(WEDNESDAY_NOON, {"dayofWeek": [7]}) == at(2026, 11, 22, 2)  # Sunday
    assert schedule.next_due(at(2026, 11, 18, 1), None) == at(2026, 11, 19, 2)  # never today again


# ------------------------------------------------------------------------------------------ auth


def test_passwords_hash_with_scrypt_and_a_salt() -> None:
    first, second = hash_secret("pw-one", n=2**10), hash_secret("pw-one", n=2**10)
    assert first.startswith("scrypt$1024$8$1$") and first != second
    assert verify_secret("pw-one", first) and not verify_secret("pw-two", first)
    assert not verify_secret("pw-one", "md5$abc") and not verify_secret("pw-one", "scrypt$x$y$z$a$b")


def test_lock_out_grows_with_failures_and_is_bounded() -> None:
    assert [lock_seconds(n) for n in range(1, 8)] == [0, 0, 1, 2, 4, 8, 16]
    assert lock_seconds(40) == 15 * 60


def test_auth_headers_from_auth_type_and_value() -> None:
    assert auth_header({"authType": "bearer", "authValue": "t"}) == ("Authorization", "Bearer t")
    assert auth_header({"authType": "basic", "authValue": "u:p"}) == ("Authorization", "Basic dTpw")
    assert auth_header({"authType": "basic", "authValue": "dTpw"}) == ("Authorization", "Basic dTpw")
    assert auth_header({"uri": "https://x"}) is None


@dataclass(frozen=True)
class FakeOutcome:
    owner_id: str = "ref"
    succeeded: bool = False
    final: bool = False
    gone: bool = False
    status_code: int | None = None
    error: str | None = None
    at: str = "2020-01-02T16:41:52.000Z"
    next_attempt_at: str | None = None
    disable_reason: str | None = None


def test_outcome_reasons() -> None:
    assert describe(FakeOutcome(succeeded=True, final=True, status_code=200)) == "HTTP 200."
    assert (
        describe(FakeOutcome(status_code=500, next_attempt_at="2020-01-02T16:46:52.000Z"))
        == "HTTP 500; retrying at Thu Jan 02 16:46:52 UTC 2020."
    )
    assert describe(FakeOutcome(final=True, error="timed out")) == "timed out."
    assert describe(FakeOutcome(final=True, gone=True, status_code=410)).startswith("HTTP 410: the receiver is gone")
