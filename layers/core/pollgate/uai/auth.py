"""Who may call the face: devices with an RS256 JWT checked against the uploaded keys, the operator with a secret."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from pollgate import clock
from pollgate.settings import get_settings
from pollgate.uai import messages
from pollgate.uai.keys import KeySource, PublicKey, usable_keys
from pollgate.uai.messages import UaiError

# Device clocks drift; a token that expired this recently is still accepted.
EXP_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class DeviceToken:
    key_id: str
    claims: dict[str, object]


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def verify_device_token(authorization: str | None, store: KeySource | None = None) -> DeviceToken:
    """Check a device's `Authorization: Bearer <JWT>`: RS256, signed by a usable key, with an `exp` in the future."""
    import jwt  # polls without a token never pay for PyJWT and cryptography; submit loads it at init

    token = bearer_token(authorization)
    if token is None:
        raise UaiError(401, messages.TOKEN_MISSING)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise UaiError(401, messages.TOKEN_MALFORMED) from None
    algorithm = str(header.get("alg"))
    if algorithm != "RS256":
        raise UaiError(401, messages.ALGORITHM_REJECTED, algorithm)
    keys = usable_keys(store)
    if not keys:
        raise UaiError(401, messages.PUBLIC_KEY_MISSING)
    verified = _verify(token, header, keys)
    if verified is None:  # perhaps signed by a key uploaded since this warm function read the keys
        tried = {key.key_id for key in keys}
        fresh = [key for key in usable_keys(store, refresh=True) if key.key_id not in tried]
        verified = _verify(token, header, fresh) if fresh else None
    if verified is None:
        raise UaiError(401, messages.SIGNATURE_INVALID)
    return verified


def _verify(token: str, header: dict[str, Any], keys: list[PublicKey]) -> DeviceToken | None:
    """The token checked against `keys` (the one its `kid` names first); None when no key's signature matches."""
    import jwt

    named = [key for key in keys if key.key_id == header.get("kid")]
    for key in named or keys:
        try:
            claims = jwt.decode(
                token, key.rsa(), algorithms=["RS256"],
                options={"require": ["exp"], "verify_exp": False, "verify_aud": False, "verify_iat": False,
                         "verify_nbf": False},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.MissingRequiredClaimError:
            raise UaiError(401, messages.TOKEN_NO_EXP) from None
        except jwt.InvalidTokenError:
            raise UaiError(401, messages.TOKEN_MALFORMED) from None
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise UaiError(401, messages.TOKEN_MALFORMED)
        if expires + EXP_LEEWAY_SECONDS <= clock.epoch():
            raise UaiError(401, messages.TOKEN_EXPIRED)
        return DeviceToken(key.key_id, claims)
    return None


def require_admin(authorization: str | None) -> None:
    """The operator's Bearer secret, compared in constant time. The secret itself is never logged."""
    presented = bearer_token(authorization)
    expected = admin_secret()
    if presented is None or not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise UaiError(401, messages.ADMIN_REQUIRED)


def admin_secret() -> str:
    from aws_lambda_powertools.utilities import parameters  # only the admin functions pay for this import

    arn = get_settings().admin_secret_arn
    if not arn:
        return ""
    value = parameters.get_secret(arn, max_age=300)
    return value if isinstance(value, str) else value.decode()
