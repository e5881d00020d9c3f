"""Fixtures shared by every ring: an isolated AWS environment (moto), device keys, signed tokens."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent

# Fixtures more than one test module uses, each in its helpers module.
pytest_plugins = ["tests.helpers.densify", "tests.helpers.registries", "tests.helpers.thingspace", "tests.helpers.uai"]

# No test may reach a real AWS account: fake credentials and a fixed region before anything imports boto3 clients.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "pollgate",
        "POWERTOOLS_SERVICE_NAME": "pollgate",
        "POWERTOOLS_DEV": "0",
    }
)
os.environ.setdefault("TABLE_NAME", "pollgate-test")


class DeviceKey:
    """An RS256 key pair as a producer makes one; `token()` signs device JWTs."""

    def __init__(self, bits: int = 2048) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_b64 = base64.b64encode(der).decode()
        self.private_pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def token(
        self,
        *,
        expires_in: float = 3600,
        claims: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> str:
        payload: dict[str, Any] = {"sub": "device-1", "exp": int((now or time.time()) + expires_in)}
        payload.update(claims or {})
        return jwt.encode(payload, self.private_pem, algorithm="RS256", headers=headers)


_KEYS: list[DeviceKey] = []


def _key(index: int) -> DeviceKey:
    while len(_KEYS) <= index:
        _KEYS.append(DeviceKey())
    return _KEYS[index]


@pytest.fixture
def device_key() -> DeviceKey:
    return _key(0)


@pytest.fixture
def second_device_key() -> DeviceKey:
    return _key(1)


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Each test starts with no cached settings, clients or keys, as a cold Lambda would."""
    from pollgate import aws, settings
    from pollgate.uai import keys

    settings.reset_settings()
    aws.reset_clients()
    keys.invalidate_key_cache()
    yield
    settings.reset_settings()
    aws.reset_clients()
    keys.invalidate_key_cache()
