"""Every reason a device token is refused (seed: no JWT, expired, bad signature, no public key) and the
attacks a JWT verifier must resist (alg none, HS256 keyed with the public key, no exp, malformed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from pollgate import clock
from pollgate.errors import DomainError
from pollgate.uai.auth import EXP_LEEWAY_SECONDS, verify_device_token
from pollgate.uai.http import UaiError
from pollgate.uai.keys import PublicKey

from tests.conftest import DeviceKey


class FakeKeyStore:
    def __init__(self, *keys: PublicKey) -> None:
        self.keys = list(keys)
        self.reads = 0

    def all(self, *, consistent: bool = False) -> list[PublicKey]:
        self.reads += 1
        return list(self.keys)


def stored(key: DeviceKey, key_id: str = "k1", *, revoked: bool = False, not_after: float | None = None) -> PublicKey:
    return PublicKey(key_id, key.public_b64, "2026-11-22T00:00:00.000Z", revoked, not_after)


def refusal(authorization: str | None, store: FakeKeyStore) -> tuple[int, str]:
    with pytest.raises(DomainError) as caught:
        verify_device_token(authorization, store)
    answer = UaiError.refusing(caught.value)  # as the face answers it
    return answer.status, answer.body["key"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_valid_token_is_accepted_and_names_its_key(device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(device_key))
    token = verify_device_token(f"Bearer {device_key.token()}", store)
    assert token.key_id == "k1"
    assert token.claims["sub"] == "device-1"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_no_jwt_is_401_token_missing(header: str | None, device_key: DeviceKey) -> None:
    assert refusal(header, FakeKeyStore(stored(device_key))) == (401, "auth.tokenMissing")


def test_expired_token_is_401_expired(device_key: DeviceKey) -> None:
    token = device_key.token(expires_in=-(EXP_LEEWAY_SECONDS + 5))
    assert refusal(f"Bearer {token}", FakeKeyStore(stored(device_key))) == (401, "auth.tokenExpired")


def test_expiry_follows_the_injected_clock(device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(device_key))
    start = time.time()
    token = device_key.token(expires_in=100, now=start)
    with clock.frozen(start) as advance:
        verify_device_token(f"Bearer {token}", store)
        advance(100 + EXP_LEEWAY_SECONDS + 1)
        assert refusal(f"Bearer {token}", store) == (401, "auth.tokenExpired")


def test_token_signed_by_another_key_is_401_bad_signature(device_key: DeviceKey, second_device_key: DeviceKey) -> None:
    token = second_device_key.token()
    assert refusal(f"Bearer {token}", FakeKeyStore(stored(device_key))) == (401, "auth.signatureInvalid")


def test_tampered_payload_is_401_bad_signature(device_key: DeviceKey) -> None:
    header, _payload, signature = device_key.token().split(".")
    forged = b64url(json.dumps({"sub": "admin", "exp": int(time.time()) + 3600}).encode())
    assert refusal(f"Bearer {header}.{forged}.{signature}", FakeKeyStore(stored(device_key))) == (
        401,
        "auth.signatureInvalid",
    )


def test_no_public_key_uploaded_is_401_public_key_missing(device_key: DeviceKey) -> None:
    assert refusal(f"Bearer {device_key.token()}", FakeKeyStore()) == (401, "auth.publicKeyMissing")


def test_only_revoked_keys_is_401_public_key_missing(device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(device_key, revoked=True))
    assert refusal(f"Bearer {device_key.token()}", store) == (401, "auth.publicKeyMissing")


def test_alg_none_is_refused(device_key: DeviceKey) -> None:
    unsigned = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "", algorithm="none")
    assert refusal(f"Bearer {unsigned}", FakeKeyStore(stored(device_key))) == (401, "auth.algorithmRejected")


def test_hs256_signed_with_the_public_key_as_secret_is_refused(device_key: DeviceKey) -> None:
    # The classic key-confusion attack: the attacker knows the public key and uses it as an HMAC secret.
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": "x", "exp": int(time.time()) + 60}).encode())
    for secret in (device_key.public_b64.encode(), base64.b64decode(device_key.public_b64)):
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{b64url(mac)}"
        assert refusal(f"Bearer {token}", FakeKeyStore(stored(device_key))) == (401, "auth.algorithmRejected")


def test_rs256_header_over_hmac_signature_is_refused(device_key: DeviceKey) -> None:
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": "x", "exp": int(time.time()) + 60}).encode())
    mac = hmac.new(device_key.public_b64.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64url(mac)}"
    assert refusal(f"Bearer {token}", FakeKeyStore(stored(device_key))) == (401, "auth.signatureInvalid")


def test_token_without_exp_is_refused(device_key: DeviceKey) -> None:
    token = jwt.encode({"sub": "device-1"}, device_key.private_pem, algorithm="RS256")
    assert refusal(f"Bearer {token}", FakeKeyStore(stored(device_key))) == (401, "auth.expMissing")


def test_non_numeric_exp_is_refused(device_key: DeviceKey) -> None:
    token = jwt.encode({"exp": "tomorrow"}, device_key.private_pem, algorithm="RS256")
    status, _key = refusal(f"Bearer {token}", FakeKeyStore(stored(device_key)))
    assert status == 401


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9.e30", "%%%.%%%.%%%"])
def test_malformed_token_is_refused(garbage: str, device_key: DeviceKey) -> None:
    status, key = refusal(f"Bearer {garbage}", FakeKeyStore(stored(device_key)))
    assert status == 401
    assert key in {"auth.tokenMalformed", "auth.signatureInvalid"}


def test_retiring_key_is_accepted_until_its_grace_ends(device_key: DeviceKey, second_device_key: DeviceKey) -> None:
    now = time.time()
    store = FakeKeyStore(stored(second_device_key, "new"), stored(device_key, "old", not_after=now + 60))
    with clock.frozen(now) as advance:
        token = device_key.token(expires_in=3600, now=now)
        assert verify_device_token(f"Bearer {token}", store).key_id == "old"
        advance(61)
        from pollgate.uai.keys import invalidate_key_cache

        invalidate_key_cache()
        assert refusal(f"Bearer {token}", store) == (401, "auth.signatureInvalid")
        assert verify_device_token(f"Bearer {second_device_key.token(now=now + 61)}", store).key_id == "new"


def test_kid_header_selects_the_named_key(device_key: DeviceKey, second_device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(second_device_key, "other"), stored(device_key, "mine"))
    token = device_key.token(headers={"kid": "mine"})
    assert verify_device_token(f"Bearer {token}", store).key_id == "mine"


def test_warm_requests_read_the_keys_once(device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(device_key))
    for _ in range(5):
        verify_device_token(f"Bearer {device_key.token()}", store)
    assert store.reads == 1


def test_a_key_uploaded_while_warm_is_accepted_at_once(device_key: DeviceKey, second_device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(device_key, "old"))
    now = time.time()
    with clock.frozen(now) as advance:
        verify_device_token(f"Bearer {device_key.token(now=now)}", store)  # the warm cache holds "old" only
        store.keys.append(stored(second_device_key, "new"))
        advance(1.5)
        assert verify_device_token(f"Bearer {second_device_key.token(now=now)}", store).key_id == "new"
    assert store.reads == 2


def test_a_flood_of_forged_tokens_rereads_the_keys_at_most_once_a_second(
    device_key: DeviceKey, second_device_key: DeviceKey
) -> None:
    store = FakeKeyStore(stored(device_key))
    now = time.time()
    forged = f"Bearer {second_device_key.token(now=now)}"
    with clock.frozen(now) as advance:
        for _ in range(50):
            assert refusal(forged, store) == (401, "auth.signatureInvalid")
        advance(1.0)
        for _ in range(50):
            refusal(forged, store)
    assert store.reads == 2


def signed(device_key: DeviceKey, payload: str, header: str = '{"alg":"RS256","typ":"JWT"}') -> str:
    """A token whose header and payload are exactly these JSON texts, signed with the device key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    signing_input = f"{b64url(header.encode())}.{b64url(payload.encode())}"
    key = serialization.load_pem_private_key(device_key.private_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


@pytest.mark.parametrize("exp", ["1e999", "NaN", "Infinity", "-Infinity", "1" * 5000, "true", "null"])
def test_exp_must_be_a_finite_number(device_key: DeviceKey, exp: str) -> None:
    token = signed(device_key, '{"exp": ' + exp + "}")
    status, key = refusal(f"Bearer {token}", FakeKeyStore(stored(device_key)))
    assert status == 401
    assert key in {"auth.expInvalid", "auth.tokenMalformed", "auth.expMissing"}


def test_exp_further_ahead_than_the_longest_lifetime_is_refused_with_its_own_key(device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(device_key))
    ten_years = device_key.token(expires_in=10 * 365 * 86400)
    assert refusal(f"Bearer {ten_years}", store) == (401, "auth.lifetimeTooLong")
    assert verify_device_token(f"Bearer {device_key.token(expires_in=86400)}", store).key_id == "k1"


def test_the_longest_lifetime_is_the_stacks_setting(device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch) -> None:
    from pollgate.settings import reset_settings

    monkeypatch.setenv("MAX_DEVICE_TOKEN_LIFETIME_SECONDS", "600")
    reset_settings()
    try:
        store = FakeKeyStore(stored(device_key))
        assert refusal(f"Bearer {device_key.token(expires_in=3600)}", store) == (401, "auth.lifetimeTooLong")
        assert verify_device_token(f"Bearer {device_key.token(expires_in=600)}", store).key_id == "k1"
    finally:
        monkeypatch.delenv("MAX_DEVICE_TOKEN_LIFETIME_SECONDS")
        reset_settings()


def test_nbf_is_honoured_with_the_same_leeway(device_key: DeviceKey) -> None:
    store = FakeKeyStore(stored(device_key))
    now = time.time()
    later = device_key.token(claims={"nbf": int(now) + 3600})
    assert refusal(f"Bearer {later}", store) == (401, "auth.notYetValid")
    soon = device_key.token(claims={"nbf": int(now) + EXP_LEEWAY_SECONDS // 2})
    assert verify_device_token(f"Bearer {soon}", store).key_id == "k1"
    exp = int(now) + 600
    for nbf in ("1e999", "NaN", '"soon"'):
        token = signed(device_key, '{"exp": ' + str(exp) + ', "nbf": ' + nbf + "}")
        status, key = refusal(f"Bearer {token}", store)
        assert (status, key) == (401, "auth.tokenMalformed")


@pytest.mark.parametrize(
    "header",
    [
        '{"alg":"RS256","crit":["exp"]}',
        '{"alg":"RS256","crit":"exp"}',
        '{"alg":"RS256","crit":[]}',
        '{"alg":"RS256","kid":' + "9" * 5000 + "}",
        '{"alg":"RS256","b64":false,"crit":["b64"]}',
        "[1, 2]",
        '"x"',
        "{" * 10 + "}" * 10,
        '{"alg":"RS256","kid":{"a":1}}',
    ],
)
def test_any_header_pyjwt_cannot_read_is_a_401(device_key: DeviceKey, header: str) -> None:
    token = signed(device_key, '{"exp": ' + str(int(time.time()) + 600) + "}", header)
    status, key = refusal(f"Bearer {token}", FakeKeyStore(stored(device_key)))
    assert status == 401
    assert key.startswith("auth.")
