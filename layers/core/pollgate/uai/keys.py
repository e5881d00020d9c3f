"""Device-token public keys: upload, rotation with a grace period, immediate revocation, and a warm cache.

Rotation (docs/uai.md, "Key rotation"):
- Uploading a new key makes it active at once; every other active key becomes *retiring* and is still
  accepted for KEY_ROTATION_GRACE_SECONDS, so devices still holding tokens signed by the old key keep working.
- `revokeOthers: true` on upload, or DELETE .../update-authorization-key/{keyId}, revokes at once.
- Warm functions trust their copy of the keys for KEY_CACHE_SECONDS, but the workflow re-reads the key that
  signed each report (consistent read) before recording it: a report signed by a revoked key is never logged,
  even if it was accepted by a warm function in the moments after revocation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from pollgate import clock
from pollgate.errors import Conflict, Invalid, NotFound
from pollgate.settings import get_settings
from pollgate.store import Item, Table
from pollgate.uai import items
from pollgate.uai.messages import KEY_INVALID, KEY_NOT_FOUND, KEY_REVOKED_REUPLOAD

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from pollgate.uai.models import KeyView

KEY_REFRESH_MIN_SECONDS = 1.0
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    der_b64: str
    uploaded_at: str
    revoked: bool
    not_after: float | None  # epoch seconds after which a retiring key is refused

    def state(self, now: float) -> Literal["active", "retiring", "revoked"]:
        if self.revoked or (self.not_after is not None and now >= self.not_after):
            return "revoked"
        return "active" if self.not_after is None else "retiring"

    def usable(self, now: float) -> bool:
        return self.state(now) != "revoked"

    def rsa(self) -> RSAPublicKey:
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
        from cryptography.hazmat.primitives.serialization import load_der_public_key

        key = load_der_public_key(base64.b64decode(self.der_b64))
        assert isinstance(key, RSAPublicKey)  # only RSA keys are ever stored
        return key

    @classmethod
    def from_item(cls, item: Item) -> PublicKey:
        return cls(
            key_id=item["keyId"],
            der_b64=item["publicKey"],
            uploaded_at=item["uploadedAt"],
            revoked=bool(item.get("revoked", False)),
            not_after=item.get("notAfter"),
        )


def parse_public_key(der_b64: str) -> tuple[str, str]:
    """Validate an uploaded key; answer its key ID (SHA-256 of the DER, base64url) and canonical base64."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        der = base64.b64decode(der_b64.strip(), validate=True)
        key = load_der_public_key(der)
    except (binascii.Error, ValueError) as error:
        raise Invalid(KEY_INVALID.render(type(error).__name__)) from None
    if not isinstance(key, RSAPublicKey):
        raise Invalid(KEY_INVALID.render("not an RSA key"))
    if key.key_size < MIN_RSA_BITS:
        raise Invalid(KEY_INVALID.render(f"{key.key_size} bits"))
    key_id = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")[:22]
    return key_id, base64.b64encode(der).decode()


class KeySource(Protocol):
    def all(self, *, consistent: bool = False) -> list[PublicKey]: ...


class KeyStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def all(self, *, consistent: bool = False) -> list[PublicKey]:
        return [
            PublicKey.from_item(item)
            for item in self.table.query(items.KEYS_PARTITION, items.KEY_PREFIX, consistent=consistent)
        ]

    def upload(self, der_b64: str, *, revoke_others: bool = False) -> PublicKey:
        key_id, canonical = parse_public_key(der_b64)
        now = clock.epoch()
        existing = {key.key_id: key for key in self.all(consistent=True)}
        if key_id in existing and existing[key_id].state(now) == "revoked":
            raise Conflict(KEY_REVOKED_REUPLOAD.render(key_id))
        if key_id not in existing or existing[key_id].not_after is not None:
            self.table.put(
                items.public_key(key_id),
                {"keyId": key_id, "publicKey": canonical, "uploadedAt": clock.iso(now), "revoked": False},
            )
        grace_end = now + get_settings().key_rotation_grace_seconds
        for other in existing.values():
            if other.key_id == key_id or other.state(now) == "revoked":
                continue
            if revoke_others:
                self.revoke(other.key_id)
            elif other.not_after is None:
                self.table.update(
                    items.public_key(other.key_id), "SET notAfter = :end", values={":end": int(grace_end)}
                )
        _cache.invalidate()
        return PublicKey(key_id, canonical, clock.iso(now), False, None)

    def revoke(self, key_id: str) -> None:
        if not self.table.update_if(
            items.public_key(key_id),
            "SET revoked = :yes, revokedAt = :now",
            condition="attribute_exists(pk)",
            values={":yes": True, ":now": clock.iso()},
        ):
            raise NotFound(KEY_NOT_FOUND.render(key_id))
        _cache.invalidate()

    def get(self, key_id: str) -> PublicKey | None:
        item = self.table.get(items.public_key(key_id), consistent=True)
        return PublicKey.from_item(item) if item else None


class _KeyCache:
    """Keys held across warm invocations, so a warm request costs no read (DESIGN.md)."""

    def __init__(self) -> None:
        self._keys: list[PublicKey] = []
        self._loaded_at: float | None = None

    def usable_keys(self, store: KeySource, *, refresh: bool = False) -> list[PublicKey]:
        """The cached keys; re-read when stale, while the ring is empty (the first upload must work at once), and
        on `refresh` (a token no cached key verifies may be signed by a key uploaded since) - that one at most
        once a second, so a flood of forged tokens costs one read a second, not one each."""
        now = clock.epoch()
        age = None if self._loaded_at is None else now - self._loaded_at
        stale = age is None or age >= get_settings().key_cache_seconds
        if stale or not self._keys or (refresh and age is not None and age >= KEY_REFRESH_MIN_SECONDS):
            self._keys = store.all()
            self._loaded_at = now
        return [key for key in self._keys if key.usable(now)]

    def invalidate(self) -> None:
        self._loaded_at = None


_cache = _KeyCache()


def usable_keys(store: KeySource | None = None, *, refresh: bool = False) -> list[PublicKey]:
    return _cache.usable_keys(store or KeyStore(), refresh=refresh)


def invalidate_key_cache() -> None:
    _cache.invalidate()


def list_key_views(store: KeyStore | None = None) -> list[KeyView]:
    # Only the key-listing function answers views: every submit and the worker read keys without the models.
    from pollgate.uai.models import KeyView

    now = clock.epoch()
    return [
        KeyView(
            keyId=key.key_id,
            state=key.state(now),
            uploadedAt=key.uploaded_at,
            notAfter=clock.iso(key.not_after) if key.not_after is not None else None,
        )
        for key in (store or KeyStore()).all(consistent=True)
    ]
