"""Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.

These few lines of hmac replace the `standardwebhooks` package in the layer: it pulls in an HTTP client and
more, which a Lambda would load on every cold start for one HMAC. Tests verify these signatures with that
package, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def new_signing_secret() -> str:
    """A fresh per-webhook secret, "whsec_" + base64 of 24 random bytes (what Svix and the spec issue)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a "whsec_" secret. Raises ValueError for a secret that is not one."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (ValueError, TypeError) as error:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from error
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secrets: str | Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers. With several secrets (a rotation's overlap: the new one first, then the old),
    one `v1,` signature each, space-separated, as the specification allows: a receiver holding either verifies."""
    keys = [secrets] if isinstance(secrets, str) else list(dict.fromkeys(secrets))
    if not keys:
        raise ValueError("a delivery is signed with at least one secret")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, message_id, timestamp, body) for secret in keys),
    }


# After a rotation the replaced secret still signs (beside the new one) this long, so receivers can switch over.
ROTATION_OVERLAP_SECONDS = 86_400


def live_secrets(current: str, previous: str | None, previous_until: float | None, now: float) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the replaced one while its overlap lasts."""
    if previous and previous_until is not None and now < previous_until and previous != current:
        return [current, previous]
    return [current]
