"""Standard Webhooks signatures made by the layer's few lines of hmac, checked by the reference package."""

from __future__ import annotations

import base64
import time

import pytest
import standardwebhooks
from pollgate.webhooks import new_signing_secret
from pollgate.webhooks.signing import signature_headers


def test_new_secrets_are_whsec_with_24_random_bytes() -> None:
    secrets = {new_signing_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24


@pytest.mark.parametrize(
    "body", [b"{}", '{"name":"caf\u00e9 \u2603"}'.encode(), b'{"results":[' + b"1," * 5000 + b"1]}"]
)
def test_the_reference_package_verifies_our_signature(body: bytes) -> None:
    secret = new_signing_secret()
    headers = signature_headers(secret, "msg_2c1", int(time.time()), body)
    assert standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False) is None


def test_a_changed_body_id_or_timestamp_does_not_verify() -> None:
    secret = new_signing_secret()
    now = int(time.time())
    headers = signature_headers(secret, "msg_1", now, b'{"a":1}')
    verifier = standardwebhooks.Webhook(secret)
    for body, changed in [
        (b'{"a":2}', {}),
        (b'{"a":1}', {"webhook-id": "msg_2"}),
        (b'{"a":1}', {"webhook-timestamp": str(now - 1)}),
    ]:
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            verifier.verify(body, {**headers, **changed})


def test_a_malformed_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        signature_headers("whsec_not base64!", "msg_1", 1, b"{}")
    with pytest.raises(ValueError, match="empty"):
        signature_headers("whsec_", "msg_1", 1, b"{}")
