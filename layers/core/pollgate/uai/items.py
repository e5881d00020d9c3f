"""Every item of the Updates and Insights face in the one table, and the keys they are found by.

- public key      UAI#KEYS / KEY#<keyId>       {keyId, publicKey, uploadedAt, revoked, notAfter, revokedAt}
                  one partition: every function reads the whole ring in one query
- device history  UAI#DEVICE#<idType>#<id> / STATUS#<timeStamp>#<digest of the report>   (an anonymous device:
                  UAI#DEVICE#ANONYMOUS#<publisherName>); the same report twice maps to the same key
- a status report in flight is an operation (pollgate/items.py) of kind uai.statusLog
"""

from __future__ import annotations

from pollgate.store import Key

KEYS_PARTITION = "UAI#KEYS"
KEY_PREFIX = "KEY#"
STATUS_PREFIX = "STATUS#"


def public_key(key_id: str) -> Key:
    return Key(KEYS_PARTITION, f"{KEY_PREFIX}{key_id}")


def device_history(id_type: str, device_id: str, publisher: str) -> str:
    """The partition of one device's history (anonymous devices: one per publisher)."""
    owner = f"{id_type}#{device_id}" if device_id else f"ANONYMOUS#{publisher}"
    return f"UAI#DEVICE#{owner}"


def history_entry(partition: str, time_stamp: str, digest: str) -> Key:
    return Key(partition, f"{STATUS_PREFIX}{time_stamp}#{digest}")
