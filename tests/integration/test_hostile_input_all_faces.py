"""No input reaches a 500 (issue 10): every HTTP route of every face, with and without valid credentials, answers a
JWT whose header PyJWT refuses to read, a JSON integer of 5,000 digits in the body and in every query parameter,
with a 4xx in that face's own error shape. Driven from the template's route table, so a new route is covered."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from pollgate.densify.auth import UserStore, log_in
from pollgate.thingspace.auth import CredentialStore, forget_cached_bearers, issue_token, login
from pollgate.uai.auth import admin_secret
from pollgate.uai.keys import KeyStore, invalidate_key_cache
from pollgate_local.stack import MOTO_CONFIG, LocalStack

from tests.aws_fixtures import http_event
from tests.conftest import DeviceKey

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHAPES = {
    "UaiApi": {"arguments", "key", "message"},
    "DensifyApi": {"message", "status"},
    "ThingSpaceApi": {"errorCode", "errorMessage"},
}
DIGITS = "7" * 5000
# Every query parameter any route reads, each given the 5,000-digit integer.
QUERY = {name: DIGITS for name in ("limit", "pollingId", "subscriptionRef", "divider", "type", "owner", "grant_type")}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def crit_jwt() -> str:
    """A JWT whose header names a critical extension PyJWT does not know (get_unverified_header raises)."""
    return ".".join([b64url(b'{"alg":"RS256","crit":["exp"],"exp":1}'), b64url(b'{"exp":1}'), b64url(b"sig")])


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalStack, dict[str, dict[str, str]]]]:
    forget_cached_bearers()
    with mock_aws(config=MOTO_CONFIG), LocalStack() as local:
        local.provision()
        device_key = DeviceKey()
        invalidate_key_cache()
        KeyStore().upload(device_key.public_b64)
        UserStore().add("hostile", "hostile-password")
        CredentialStore().add_client("hostile-client", "hostile-secret")
        CredentialStore().add_user("hostile", "hostile-password", ["0000123456-00001"])
        access = issue_token(
            "Basic " + base64.b64encode(b"hostile-client:hostile-secret").decode(), "client_credentials"
        ).access_token
        credentials = {
            "UaiApi": {"authorization": f"Bearer {device_key.token()}"},
            "DensifyApi": {"authorization": f"Bearer {log_in('hostile', 'hostile-password').token}"},
            "ThingSpaceApi": {
                "authorization": f"Bearer {access}",
                "vz-m2m-token": login("hostile", "hostile-password"),
            },
            "admin": {"authorization": f"Bearer {admin_secret()}"},
        }
        yield local, credentials
    invalidate_key_cache()
    forget_cached_bearers()


def concrete(path: str) -> tuple[str, dict[str, str]]:
    names = re.findall(r"{(\w+)\+?}", path)
    parameters = {name: "cloud" if name == "platformType" else "x1" for name in names}
    return re.sub(r"{(\w+)\+?}", lambda m: parameters[m.group(1)], path), parameters


CASES: dict[str, dict[str, Any]] = {
    "JWT header with crit": {"headers": {"authorization": f"Bearer {crit_jwt()}"}},
    "5000-digit integer in the body": {"body": '{"n": ' + DIGITS + ', "language": ' + DIGITS + "}"},
    "5000-digit integer in an array body": {"body": "[" + DIGITS + "]"},
    "5000-digit integer in every query parameter": {"query": QUERY},
}


@pytest.mark.parametrize("credentialed", [False, True], ids=["anonymous", "credentialed"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_input_reaches_a_500_on_any_route(
    stack: tuple[LocalStack, dict[str, dict[str, str]]], case: str, credentialed: bool
) -> None:
    local, credentials = stack
    checked = 0
    for api, method, path, function in local.http_routes():
        if path == "$default":
            path = "/no/such/path"
        concrete_path, parameters = concrete(path)
        spec = dict(CASES[case])
        own = credentials["admin" if path.startswith("/flexnet/") else api]  # UAI's key routes: the operator's
        headers = {**(own if credentialed else {}), **spec.pop("headers", {})}
        event = http_event(
            method, concrete_path, route=path, path_parameters=parameters or None, headers=headers, **spec
        )
        answer = local.invoke(function, event)
        assert answer["statusCode"] < 500, (case, method, path, answer)
        if answer["statusCode"] >= 400:
            body = json.loads(answer["body"])
            shape = {"fault"} if "fault" in body else {"error"} if "error" in body else set(body)
            assert shape in (SHAPES[api], {"fault"}, {"error"}), (case, method, path, body)
            if api == "ThingSpaceApi" and "error" in body:
                assert set(body) == {"error", "error_description"}
        checked += 1
    assert checked >= 30
