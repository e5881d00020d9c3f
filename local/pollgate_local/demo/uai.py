"""Demo data for the Updates and Insights status-log face: a device key pair, its public key uploaded, a token."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

if TYPE_CHECKING:
    from pollgate_local.demo import DemoContext

KEY_PATH = "/flexnet/operations/api/updates/update-authorization-key"
STATUS_LOG_PATH = "/uai/2.0/updates/statusLog"
TOKEN_HOURS = 12
REPORT: dict[str, Any] = {
    "id": "demo-device-1",
    "idType": "STRING",
    "language": 1033,
    "packageId": "demo-package",
    "platform": "WIN64",
    "statusCode": 2,
    "statusReason": "Download complete",
    "timeStamp": "2026-01-01T12:00:00Z",
    "updateId": "demo-update",
    "updateName": "Demo security update",
}


def seed(ctx: DemoContext) -> list[str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_b64 = base64.b64encode(public_der).decode()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    key_file = ctx.state_dir / "uai-device-key.pem"
    key_file.write_bytes(pem)
    key_file.chmod(0o600)

    admin = {"Authorization": f"Bearer {ctx.admin_secret}"}
    status, body = ctx.request("PUT", KEY_PATH, {"publicKey": public_b64}, admin)
    if status != 200:
        raise RuntimeError(f"uploading the demo key answered {status}: {body}")
    token = jwt.encode({"sub": "demo-device-1", "exp": int(time.time()) + TOKEN_HOURS * 3600}, pem, algorithm="RS256")
    device = {"Authorization": f"Bearer {token}"}
    status, body = ctx.request("POST", STATUS_LOG_PATH, REPORT, device)
    if status != 202:
        raise RuntimeError(f"the demo status report answered {status}: {body}")
    return [
        f"# a device reports status (token valid {TOKEN_HOURS} h, signed by {key_file}):",
        ctx.curl("POST", STATUS_LOG_PATH, REPORT, device),
        "# poll the report the demo already made (or the url any POST answers):",
        ctx.curl("GET", body["url"]),
        "# the operator uploads a device public key, lists the keys:",
        ctx.curl("PUT", KEY_PATH, {"publicKey": public_b64}, admin),
        ctx.curl("GET", KEY_PATH, headers=admin),
    ]
