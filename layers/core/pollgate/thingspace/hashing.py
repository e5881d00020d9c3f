"""How credentials are kept: a table read never yields anything usable.

- Client secrets and user passwords (chosen by people, possibly weak): scrypt, in pollgate.passwords.
- Issued bearer and session tokens (256 random bits each, so not guessable): SHA-256, which is enough for a
  high-entropy value and costs nothing on every M2M call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_hex(32)


def derived_token(secret: str, nonce: str) -> str:
    """The bearer token for one issue window: only someone holding the client secret can recompute it."""
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()
