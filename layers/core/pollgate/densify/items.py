"""Every item of the Densify face in the one table, and the keys they are found by.

- subscription     DENSIFY#SUB#<ref> / SUB    the definition, audit stamps, lastTriggered, webHookStatus, the
                                              webhook signing secret, and duePk/dueAt while a push is scheduled
- its name         DENSIFY#OWNED#<owner> / NAME#<platform>#<name>  or, when global,  DENSIFY#GLOBAL#<platform> /
                   NAME#<name> (names case-folded): makes names unique by a conditional put, and lists an owner's or
                   a platform's subscriptions with one query
- catalogue        DENSIFY#CATALOGUE#<platform> / CATALOGUE     the field IDs and aliases, lastRefreshed
- result record    DENSIFY#RECORDS#<platform> / REC#<systemId>  one JSON string each
- user             DENSIFY#USER#<name> / USER                   {userName, passwordHash, admin}
- login failures   DENSIFY#LOGIN#<name> / FAILURES              {count, lockedUntil}
- a scheduled push is in the due index (category DENSIFY), keyed by the subscription's ref
- a push's deliveries are the webhook engine's (pollgate/items.py), owner kind densify.subscription
"""

from __future__ import annotations

from pollgate.store import Key

DUE_CATEGORY = "DENSIFY"
# The webhook engine's owner kind of a subscription's pushes (its deliveries: pollgate/items.py).
PUSH_OWNER_KIND = "densify.subscription"
PUSH_TENANT = "densify"  # the webhook engine's tenant of every Densify push
SUBSCRIPTION_PREFIX = "DENSIFY#SUB#"
NAME_PREFIX = "NAME#"
RECORD_PREFIX = "REC#"


def subscription(ref: str) -> Key:
    return Key(f"{SUBSCRIPTION_PREFIX}{ref}", "SUB")


def ref_of(key: Key) -> str:
    return key.pk.removeprefix(SUBSCRIPTION_PREFIX)


def name(platform: str, owner: str, subscription_name: str) -> Key:
    """The item that makes a name unique: per owner and platform, or per platform for a global subscription."""
    folded = subscription_name.casefold()
    if owner == "":
        return Key(global_names(platform), f"{NAME_PREFIX}{folded}")
    return Key(owned_names(owner), f"{NAME_PREFIX}{platform}#{folded}")


def global_names(platform: str) -> str:
    """The partition of a platform's global subscriptions' names (their sk prefix: NAME_PREFIX)."""
    return f"DENSIFY#GLOBAL#{platform}"


def owned_names(owner: str) -> str:
    """The partition of an owner's subscriptions' names (sk prefix for one platform: `owned_name_prefix`)."""
    return f"DENSIFY#OWNED#{owner}"


def owned_name_prefix(platform: str) -> str:
    return f"{NAME_PREFIX}{platform}#"


def catalogue(platform: str) -> Key:
    return Key(f"DENSIFY#CATALOGUE#{platform}", "CATALOGUE")


def records(platform: str) -> str:
    """The partition of a platform's result records (sk prefix RECORD_PREFIX)."""
    return f"DENSIFY#RECORDS#{platform}"


def record(platform: str, system_id: str) -> Key:
    return Key(records(platform), f"{RECORD_PREFIX}{system_id}")


def user(name: str) -> Key:
    return Key(f"DENSIFY#USER#{name}", "USER")


def login_failures(name: str) -> Key:
    return Key(f"DENSIFY#LOGIN#{name}", "FAILURES")
