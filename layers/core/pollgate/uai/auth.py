"""Who may call the face: devices with an RS256 JWT checked against the uploaded keys, the operator with a secret."""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Any

from pollgate import clock
from pollgate.credentials import bearer_token
from pollgate.errors import Unauthenticated
from pollgate.settings import get_settings
from pollgate.uai import messages
from pollgate.uai.keys import KeySource, PublicKey, usable_keys

# Device clocks drift; a token that expired this recently, or that becomes valid this soon (nbf), is accepted.
EXP_LEEWAY_SECONDS = 60

# What PyJWT may raise for a token no one signed for us: its own errors (a `crit` header, bad base64 or JSON), and
# what Python's parsing raises underneath them (an integer past sys.get_int_max_str_digits, nesting too deep).
_UNREADABLE = (ValueError, TypeError, OverflowError, RecursionError)


@dataclass(frozen=True)
class DeviceToken:
    key_id: str
    claims: dict[str, object]


def verify_device_token(authorization: str | None, store: KeySource | None = None) -> DeviceToken:
    """Check a device's `Authorization: Bearer <JWT>`: RS256, signed by a usable key, with an `exp` in the future."""
    import jwt  # polls without a token never pay for PyJWT and cryptography; submit loads it at init

    token = bearer_token(authorization)
    if token is None:
        raise Unauthenticated(messages.TOKEN_MISSING.render())
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, *_UNREADABLE):
        raise Unauthenticated(messages.TOKEN_MALFORMED.render()) from None
    algorithm = str(header.get("alg"))
    if algorithm != "RS256":
        raise Unauthenticated(messages.ALGORITHM_REJECTED.render(algorithm))
    keys = usable_keys(store)
    if not keys:
        raise Unauthenticated(messages.PUBLIC_KEY_MISSING.render())
    verified = _verify(token, header, keys)
    if verified is None:  # perhaps signed by a key uploaded since this warm function read the keys
        tried = {key.key_id for key in keys}
        fresh = [key for key in usable_keys(store, refresh=True) if key.key_id not in tried]
        verified = _verify(token, header, fresh) if fresh else None
    if verified is None:
        raise Unauthenticated(messages.SIGNATURE_INVALID.render())
    return verified


def _verify(token: str, header: dict[str, Any], keys: list[PublicKey]) -> DeviceToken | None:
    """The token checked against `keys` (the one its `kid` names first); None when no key's signature matches."""
    import jwt

    named = [key for key in keys if key.key_id == header.get("kid")]
    for key in named or keys:
        try:
            claims = jwt.decode(
                token,
                key.rsa(),
                algorithms=["RS256"],
                options={
                    "require": ["exp"],
                    "verify_exp": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },  # exp and nbf are checked below, as numbers PyJWT may not handle
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.MissingRequiredClaimError:
            raise Unauthenticated(messages.TOKEN_NO_EXP.render()) from None
        except (jwt.PyJWTError, *_UNREADABLE):
            raise Unauthenticated(messages.TOKEN_MALFORMED.render()) from None
        check_lifetime(claims)
        return DeviceToken(key.key_id, claims)
    return None


def _seconds(value: object) -> float | None:
    """A claim's value as finite seconds; None for anything else (a string, a boolean, 1e999, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return seconds if math.isfinite(seconds) else None


def check_lifetime(claims: dict[str, object]) -> None:
    """exp: finite, not past (with the leeway), not further ahead than the stack allows; nbf, when present: finite
    and not ahead (with the same leeway)."""
    now = clock.epoch()
    expires = _seconds(claims.get("exp"))
    if expires is None:
        raise Unauthenticated(messages.TOKEN_EXP_INVALID.render())
    if expires + EXP_LEEWAY_SECONDS <= now:
        raise Unauthenticated(messages.TOKEN_EXPIRED.render())
    longest = get_settings().max_device_token_lifetime_seconds
    if expires > now + longest + EXP_LEEWAY_SECONDS:
        raise Unauthenticated(messages.TOKEN_LIFETIME_TOO_LONG.render(longest))
    if "nbf" in claims:
        not_before = _seconds(claims["nbf"])
        if not_before is None:
            raise Unauthenticated(messages.TOKEN_MALFORMED.render())
        if not_before - EXP_LEEWAY_SECONDS > now:
            raise Unauthenticated(messages.TOKEN_NOT_YET_VALID.render())


def require_admin(authorization: str | None) -> None:
    """The operator's Bearer secret, compared in constant time. The secret itself is never logged."""
    presented = bearer_token(authorization)
    expected = admin_secret()
    if presented is None or not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthenticated(messages.ADMIN_REQUIRED.render())


def admin_secret() -> str:
    from aws_lambda_powertools.utilities import parameters  # only the admin functions pay for this import

    arn = get_settings().admin_secret_arn
    if not arn:
        return ""
    value = parameters.get_secret(arn, max_age=300)
    return value if isinstance(value, str) else value.decode()
