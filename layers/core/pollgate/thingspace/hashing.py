"""How credentials are kept: a table read never yields anything usable.

- Client secrets and user passwords (chosen by people, possibly weak): scrypt with a random salt per secret.
- Issued bearer and session tokens (256 random bits each, so not guessable): SHA-256, which is enough for a
  high-entropy value and costs nothing on every M2M call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

# scrypt cost: 16 MiB and about 50 ms per check here; stored with each hash so it can be raised later.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_KEY_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@cache
def dummy_hash() -> str:
    """Checked against for an unknown username too, so a login takes as long whether or not the user exists."""
    return hash_secret(secrets.token_urlsafe(16))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_hex(32)


def derived_token(secret: str, nonce: str) -> str:
    """The bearer token for one issue window: only someone holding the client secret can recompute it."""
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()
