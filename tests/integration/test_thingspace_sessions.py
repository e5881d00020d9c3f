"""ThingSpace credentials through the real handlers on moto: OAuth tokens, session login/logout, every M2M check.

Expiry and lockout move the injectable clock; nothing sleeps.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pollgate import clock
from pollgate.thingspace.auth import CredentialStore, forget_cached_bearers
from pollgate.thingspace.inventory import InventoryStore

from tests.aws_fixtures import http_event
from tests.integration.conftest import Function

CLIENT_KEY, CLIENT_SECRET = "client-1", "s3cret-client-value"
USERNAME, PASSWORD = "alice", "correct horse battery staple"
ACCOUNT = "0000123456-00001"
TOKEN_PATH = "/api/ts/v1/oauth2/token"
LOGIN_PATH = "/api/m2m/v1/session/login"
LOGOUT_PATH = "/api/m2m/v1/session/logout"
T0 = 1_800_000_000.0


def body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def basic(key: str = CLIENT_KEY, secret: str = CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@pytest.fixture
def ts(aws: None) -> Iterator[dict[str, Function]]:
    forget_cached_bearers()
    InventoryStore().add_account(ACCOUNT)
    InventoryStore().add_account("someone-else")
    CredentialStore().add_client(CLIENT_KEY, CLIENT_SECRET)
    CredentialStore().add_user(USERNAME, PASSWORD, [ACCOUNT])
    yield {
        name: Function(f"thingspace_{name}")
        for name in ("oauth_token", "session_login", "session_logout", "request_status", "list_callbacks")
    }
    forget_cached_bearers()


def token(
    ts: dict[str, Function],
    authorization: str | None = None,
    form: str = "grant_type=client_credentials",
    **kwargs: Any,
) -> dict[str, Any]:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        **({"authorization": authorization} if authorization else {}),
    }
    return ts["oauth_token"].http("POST", TOKEN_PATH, body=form, headers=headers, **kwargs)


def bearer(ts: dict[str, Function]) -> str:
    answer = token(ts, basic())
    assert answer["statusCode"] == 200, answer
    return str(body(answer)["access_token"])


def login(
    ts: dict[str, Function],
    access: str,
    username: str = USERNAME,
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    return ts["session_login"].http(
        "POST",
        LOGIN_PATH,
        body={"username": username, "password": password},
        headers={"authorization": f"Bearer {access}", **(headers or {})},
    )


def m2m_call(
    ts: dict[str, Function], access: str | None, session: str | None, content_type: str = "application/json"
) -> dict[str, Any]:
    """One M2M call (list callbacks): the cheapest way to exercise the checks every M2M call makes."""
    headers = {"content-type": content_type}
    if access is not None:
        headers["authorization"] = f"Bearer {access}"
    if session is not None:
        headers["vz-m2m-token"] = session
    return ts["list_callbacks"].http(
        "GET",
        f"/api/m2m/v1/callbacks/{ACCOUNT}",
        route="/api/m2m/v1/callbacks/{accountname}",
        path_parameters={"accountname": ACCOUNT},
        headers=headers,
    )


def error_code(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 400, answer
    return str(body(answer)["errorCode"])


def fault_code(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 401, answer
    return str(body(answer)["fault"]["code"])


# ------------------------------------------------------------------------------------------ OAuth


def test_client_credentials_give_a_one_hour_bearer_token(ts: dict[str, Function]) -> None:
    with clock.frozen(T0):
        answer = token(ts, basic())
    assert answer["statusCode"] == 200
    issued = body(answer)
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 3600 and issued["scope"]
    assert len(issued["access_token"]) == 64
    assert answer["headers"]["Cache-Control"] == "no-store"


def test_asking_again_within_the_hour_answers_the_same_token_then_a_new_one(ts: dict[str, Function]) -> None:
    with clock.frozen(T0) as advance:
        first = body(token(ts, basic()))
        advance(1800)
        again = body(token(ts, basic()))
        assert again["access_token"] == first["access_token"]
        assert again["expires_in"] == 1800
        advance(1800)
        renewed = body(token(ts, basic()))
        assert renewed["access_token"] != first["access_token"]
        assert renewed["expires_in"] == 3600
        forget_cached_bearers()  # a cold function: the table, not the cache, says the old token is over
        assert fault_code(login(ts, first["access_token"])) == "900901"
        assert login(ts, renewed["access_token"])["statusCode"] == 200


def test_the_form_body_may_be_base64_encoded_or_in_the_query(ts: dict[str, Function]) -> None:
    encoded = ts["oauth_token"].http(
        "POST",
        TOKEN_PATH,
        raw_body=b"grant_type=client_credentials",
        headers={"authorization": basic(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert encoded["statusCode"] == 200
    assert token(ts, basic(), form="", query={"grant_type": "client_credentials"})["statusCode"] == 200


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "900902"),
        ("Bearer abc", "900902"),
        (basic(secret="wrong"), "900901"),
        (basic(key="nobody"), "900901"),
        ("Basic !!!notbase64", "900901"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "900901"),
    ],
)
def test_bad_or_missing_client_credentials_are_gateway_faults(
    ts: dict[str, Function], authorization: str | None, code: str
) -> None:
    answer = token(ts, authorization)
    assert fault_code(answer) == code
    assert set(body(answer)["fault"]) == {"code", "message", "description"}


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ("", "invalid_request"),
        ("grant_type=password", "unsupported_grant_type"),
    ],
)
def test_grant_type_must_be_client_credentials(ts: dict[str, Function], form: str, error: str) -> None:
    answer = token(ts, basic(), form=form)
    assert answer["statusCode"] == 400
    assert body(answer)["error"] == error


def test_the_table_never_holds_a_usable_secret_or_token(ts: dict[str, Function]) -> None:
    access = bearer(ts)
    session = body(login(ts, access))["sessionToken"]
    dump = json.dumps(boto3.client("dynamodb").scan(TableName="pollgate-test")["Items"])
    for secret in (CLIENT_SECRET, PASSWORD, access, session):
        assert secret not in dump
    assert "scrypt$" in dump


# ------------------------------------------------------------------------------------------ sessions


def test_login_answers_a_session_token_that_opens_m2m_calls(ts: dict[str, Function]) -> None:
    access = bearer(ts)
    answer = login(ts, access)
    assert answer["statusCode"] == 200
    session = body(answer)["sessionToken"]
    assert m2m_call(ts, access, session)["statusCode"] == 200


@pytest.mark.parametrize(("authorization", "code"), [(None, "900902"), ("Bearer not-a-token", "900901")])
def test_login_needs_a_bearer_token(ts: dict[str, Function], authorization: str | None, code: str) -> None:
    headers = {"authorization": authorization} if authorization else {}
    answer = ts["session_login"].http(
        "POST", LOGIN_PATH, body={"username": USERNAME, "password": PASSWORD}, headers=headers
    )
    assert fault_code(answer) == code


def test_login_checks_credentials_before_the_body(ts: dict[str, Function]) -> None:
    answer = ts["session_login"].http("POST", LOGIN_PATH, body="not json")
    assert fault_code(answer) == "900902"
    assert (
        error_code(login(ts, bearer(ts), headers={"content-type": "text/plain"})) == "INPUT_INVALID.ContentType.Invalid"
    )
    bad_body = ts["session_login"].http(
        "POST", LOGIN_PATH, body="not json", headers={"authorization": f"Bearer {bearer(ts)}"}
    )
    assert error_code(bad_body) == "INPUT_INVALID.Body.Invalid"
    no_password = ts["session_login"].http(
        "POST", LOGIN_PATH, body={"username": USERNAME}, headers={"authorization": f"Bearer {bearer(ts)}"}
    )
    assert error_code(no_password) == "INPUT_INVALID.Password.Invalid"


def test_wrong_password_or_unknown_user_is_refused_alike(ts: dict[str, Function]) -> None:
    access = bearer(ts)
    assert error_code(login(ts, access, password="wrong")) == "REQUEST_FAILED.UserNotAuthenticated"
    assert error_code(login(ts, access, username="mallory")) == "REQUEST_FAILED.UserNotAuthenticated"


FAILED, LOCKED = "REQUEST_FAILED.UserNotAuthenticated", "REQUEST_FAILED.UserLocked"


def test_known_and_unknown_names_answer_alike_at_every_failure_count_and_lock_for_the_lockout(
    ts: dict[str, Function],
) -> None:
    with clock.frozen(T0) as advance:
        access = bearer(ts)
        answers: dict[str, list[str]] = {USERNAME: [], "mallory": []}
        for n in range(7):
            for name, codes in answers.items():
                codes.append(error_code(login(ts, access, username=name, password=f"guess-{n}")))
            advance(60)  # past each slow-down window (1, 2 s), so every guess is checked
        assert answers[USERNAME] == answers["mallory"] == [FAILED] * 4 + [LOCKED] * 3
        assert error_code(login(ts, access)) == LOCKED  # even the right password, for the lockout
        advance(900 - 60 + 1)
        assert login(ts, access)["statusCode"] == 200  # the lock ended by itself (ThingSpaceLockoutSeconds)


def test_an_operator_unlock_ends_the_lock_at_once(ts: dict[str, Function]) -> None:
    with clock.frozen(T0) as advance:
        access = bearer(ts)
        for n in range(5):
            error_code(login(ts, access, password=f"guess-{n}"))
            advance(60)
        assert error_code(login(ts, access)) == LOCKED
        assert CredentialStore().unlock_user(USERNAME)
        assert login(ts, access)["statusCode"] == 200
        assert not CredentialStore().unlock_user("mallory")  # no such user (its failures are forgotten all the same)


def test_failed_logins_are_slowed_as_densify_slows_them(ts: dict[str, Function]) -> None:
    with clock.frozen(T0) as advance:
        access = bearer(ts)
        codes = [error_code(login(ts, access, password=f"guess-{n}")) for n in range(3)]
        assert codes == [FAILED] * 3
        assert error_code(login(ts, access)) == FAILED  # refused unchecked for 1 s after the third failure
        advance(2)
        assert login(ts, access)["statusCode"] == 200


def test_a_successful_login_resets_the_count_of_failures(ts: dict[str, Function]) -> None:
    with clock.frozen(T0) as advance:
        access = bearer(ts)
        for n in range(4):
            error_code(login(ts, access, password=f"guess-{n}"))
            advance(60)
        assert login(ts, access)["statusCode"] == 200
        codes = []
        for n in range(4):
            codes.append(error_code(login(ts, access, password=f"again-{n}")))
            advance(60)
        assert codes == [FAILED] * 4
        assert login(ts, access)["statusCode"] == 200


def test_a_session_expires_after_twenty_minutes_without_use_and_each_use_slides_it(ts: dict[str, Function]) -> None:
    with clock.frozen(T0) as advance:
        access = bearer(ts)
        session = body(login(ts, access))["sessionToken"]
        for _ in range(3):  # 57 minutes of activity, never 20 idle: still alive (the bearer is 1 h)
            advance(19 * 60)
            assert m2m_call(ts, access, session)["statusCode"] == 200
        advance(20 * 60 + 1)
        forget_cached_bearers()
        access = bearer(ts)  # the first bearer has expired meanwhile; the session is what matters here
        assert error_code(m2m_call(ts, access, session)) == "REQUEST_FAILED.SessionToken.Expired"
        assert error_code(m2m_call(ts, access, session)) == "REQUEST_FAILED.SessionToken.Expired"


def test_calls_within_a_minute_of_the_recorded_use_write_nothing_and_expiry_is_never_late(
    ts: dict[str, Function],
) -> None:
    """The sliding expiry is recorded at most once a minute (a burst of polls writes nothing), so a session expires
    20 minutes after its last recorded use: at most a minute early, never late."""
    from pollgate.thingspace.hashing import token_digest

    writes: list[str] = []

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in {"UpdateItem", "PutItem"} and "SESSION" in json.dumps(params.get("Key", {})):
            writes.append(model.name)

    with clock.frozen(T0) as advance:
        access = bearer(ts)
        session = body(login(ts, access))["sessionToken"]
        recorded = CredentialStore().session(token_digest(session))
        assert recorded is not None and recorded["lastUsed"] == T0
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb", count)
        from pollgate import aws

        aws.reset_clients()
        for _ in range(3):  # a burst: 59 s in all
            advance(19.5)
            assert m2m_call(ts, access, session)["statusCode"] == 200
        assert writes == []
        assert CredentialStore().session(token_digest(session))["lastUsed"] == T0  # type: ignore[index]
        advance(1.5)  # a minute after the recorded use: this call slides it, once
        assert m2m_call(ts, access, session)["statusCode"] == 200
        assert m2m_call(ts, access, session)["statusCode"] == 200
        assert writes == ["UpdateItem"]
        assert CredentialStore().session(token_digest(session))["lastUsed"] == T0 + 60  # type: ignore[index]
        advance(30)
        assert m2m_call(ts, access, session)["statusCode"] == 200  # the last use: T0 + 90, recorded T0 + 60
        advance(20 * 60 - 30)  # 20 minutes after the recorded use, 19.5 after the last one
        forget_cached_bearers()
        access = bearer(ts)
        assert error_code(m2m_call(ts, access, session)) == "REQUEST_FAILED.SessionToken.Expired"


def test_logout_ends_the_session_at_once(ts: dict[str, Function]) -> None:
    access = bearer(ts)
    session = body(login(ts, access))["sessionToken"]
    answer = ts["session_logout"].http(
        "POST", LOGOUT_PATH, headers={"authorization": f"Bearer {access}", "vz-m2m-token": session}
    )
    assert answer["statusCode"] == 200
    assert body(answer) == {"sessionToken": session}
    assert error_code(m2m_call(ts, access, session)) == "INPUT_INVALID.SessionToken.Invalid"


def test_every_m2m_call_checks_bearer_session_and_content_type(ts: dict[str, Function]) -> None:
    access = bearer(ts)
    session = body(login(ts, access))["sessionToken"]
    assert fault_code(m2m_call(ts, None, session)) == "900902"
    assert fault_code(m2m_call(ts, "0" * 64, session)) == "900901"
    assert error_code(m2m_call(ts, access, None)) == "INPUT_INVALID.SessionToken.Invalid"
    assert error_code(m2m_call(ts, access, "made-up")) == "INPUT_INVALID.SessionToken.Invalid"
    assert m2m_call(ts, access, session, "application/json; charset=utf-8")["statusCode"] == 200


def test_bodiless_calls_need_no_content_type_but_a_body_must_be_json(ts: dict[str, Function]) -> None:
    """The vendor's SDKs send no Content-Type on GET, DELETE or a POST without a body."""
    access = bearer(ts)
    session = body(login(ts, access))["sessionToken"]
    headers = {"authorization": f"Bearer {access}", "vz-m2m-token": session}
    listing = http_event(
        "GET",
        f"/api/m2m/v1/callbacks/{ACCOUNT}",
        route="/api/m2m/v1/callbacks/{accountname}",
        path_parameters={"accountname": ACCOUNT},
        headers=headers,
    )
    del listing["headers"]["content-type"]
    assert ts["list_callbacks"](listing)["statusCode"] == 200
    assert m2m_call(ts, access, session, "text/plain")["statusCode"] == 200  # no body: nothing to declare
    refused = login(ts, access, headers={"content-type": "text/plain"})
    assert error_code(refused) == "INPUT_INVALID.ContentType.Invalid"
    logout = http_event("POST", LOGOUT_PATH, headers=headers)
    del logout["headers"]["content-type"]
    assert ts["session_logout"](logout)["statusCode"] == 200


def test_a_user_sees_only_its_own_accounts(ts: dict[str, Function]) -> None:
    access = bearer(ts)
    session = body(login(ts, access))["sessionToken"]
    answer = ts["list_callbacks"].http(
        "GET",
        "/api/m2m/v1/callbacks/someone-else",
        route="/api/m2m/v1/callbacks/{accountname}",
        path_parameters={"accountname": "someone-else"},
        headers={"authorization": f"Bearer {access}", "vz-m2m-token": session},
    )
    assert error_code(answer) == "REQUEST_FAILED.AccountNotFound"
