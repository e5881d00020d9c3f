"""Subscriptions: create (all or nothing), list, read, replace, delete, with names unique per owner.

Items (densify/items.py): the subscription, and one name item per subscription that makes names unique (per
owner, or per platform when global; case-insensitive) and lists an owner's or a platform's subscriptions with one
query. Every change writes the subscription and its name item in one transaction, so they never disagree.

Visibility: a subscription is visible to its owner and, when global, to everyone; any other caller gets the
same 404 as for one that does not exist. Only admins create, change or delete global subscriptions.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pollgate import clock
from pollgate.densify import items, schedule
from pollgate.densify.auth import Caller
from pollgate.densify.dates import java_date
from pollgate.densify.errors import subscription_not_found
from pollgate.densify.models import SubscriptionBody, SubscriptionView
from pollgate.densify.records import Catalogue, RecordStore, unknown_fields
from pollgate.errors import Conflict, Invalid
from pollgate.store import Delete, Item, Key, Put, Table, TransactionCancelled, Update, Write, due_partition

# One transaction holds at most 100 writes and each subscription takes two.
MAX_PER_REQUEST = 50


def _new_signing_secret() -> str:
    from pollgate.webhooks import new_signing_secret  # the engine owns the secret format

    return new_signing_secret()


@dataclass(frozen=True)
class Subscription:
    ref: str
    platform: str
    owner: str  # "" = global
    name: str
    definition: dict[str, Any]  # the validated body, with owner resolved and authValue kept
    created: float
    created_by: str
    updated: float
    updated_by: str
    version: int
    signing_secret: str
    last_triggered: str = ""
    webhook_status: str = ""
    webhook_disabled: bool = False
    previous_signing_secret: str = ""  # the secret a rotation replaced, still signing until previous_secret_until
    previous_secret_until: float | None = None

    def signing_secrets(self, now: float) -> list[str]:
        """What its pushes are signed with now: the current secret, and the replaced one while the overlap lasts."""
        from pollgate.webhooks.signing import live_secrets

        return live_secrets(self.signing_secret, self.previous_signing_secret, self.previous_secret_until, now)

    @property
    def is_global(self) -> bool:
        return self.owner == ""

    def visible_to(self, caller: Caller) -> bool:
        return self.is_global or self.owner == caller.user

    def changeable_by(self, caller: Caller) -> bool:
        return caller.admin if self.is_global else self.owner == caller.user

    @property
    def pushes(self) -> bool:
        """Scheduled pushes happen only for an active subscription with a webhook that has not answered 410."""
        return (
            self.definition.get("active") == "true"
            and bool(self.definition.get("webhook"))
            and not self.webhook_disabled
        )

    @classmethod
    def from_item(cls, item: Item) -> Subscription:
        return cls(
            ref=item["ref"],
            platform=item["platform"],
            owner=item.get("owner", ""),
            name=item["name"],
            definition=json.loads(item["definition"]),
            created=float(item["created"]),
            created_by=item["createdBy"],
            updated=float(item["updated"]),
            updated_by=item["updatedBy"],
            version=int(item["version"]),
            signing_secret=item.get("signingSecret", ""),
            last_triggered=item.get("lastTriggered", ""),
            webhook_status=item.get("webHookStatus", ""),
            webhook_disabled=bool(item.get("webhookDisabled", False)),
            previous_signing_secret=item.get("previousSigningSecret") or "",
            previous_secret_until=float(item["previousSecretUntil"]) if item.get("previousSecretUntil") else None,
        )

    def view(self, caller: Caller) -> SubscriptionView:
        """As the list shows it: the definition without the webhook credential; the signing secret (which
        receivers need to verify pushes) only to whoever may change the subscription."""
        body = {"subscriptionRef": self.ref, **self.definition}
        webhook = dict(body.get("webhook") or {})
        if webhook:
            webhook.pop("authValue", None)
            if self.changeable_by(caller):
                webhook["signingSecret"] = self.signing_secret
            webhook["active"] = "false" if self.webhook_disabled else "true"
            body["webhook"] = webhook
        body["lastTriggered"] = self.last_triggered
        body["webHookStatus"] = self.webhook_status
        return SubscriptionView.model_validate(body)

    def header(self, last_refreshed: float | None) -> dict[str, Any]:
        """The `subscription` block of a results document."""
        return {
            "name": self.name,
            "description": self.definition.get("description", ""),
            "created": java_date(self.created),
            "createdBy": self.created_by,
            "updated": java_date(self.updated),
            "updatedBy": self.updated_by,
            "lastRefreshed": java_date(last_refreshed) if last_refreshed is not None else "",
            "owner": self.owner,
        }


class SubscriptionStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def get(self, ref: str) -> Subscription | None:
        item = self.table.get(items.subscription(ref), consistent=True) if _looks_like_ref(ref) else None
        return Subscription.from_item(item) if item else None

    def many(self, refs: Sequence[str]) -> list[Subscription]:
        """The subscriptions of `refs` that exist, in the order of `refs` (one BatchGetItem per 100)."""
        found = {
            item["ref"]: Subscription.from_item(item)
            for item in self.table.get_many([items.subscription(ref) for ref in refs])
        }
        return [found[ref] for ref in refs if ref in found]

    def refs_named(self, pk: str, sk_prefix: str) -> Iterator[tuple[str, str]]:
        for item in self.table.query(pk, sk_prefix):
            yield item["ref"], item["platform"]

    def due_refs(self, until_iso: str, *, limit: int) -> Iterator[str]:
        """The refs of subscriptions whose push is due at `until_iso`."""
        for key in self.table.due(items.DUE_CATEGORY, until_iso, limit=limit):
            yield items.ref_of(key)

    def save_new(self, subscriptions: Sequence[Subscription]) -> None:
        writes: list[Write] = []
        for subscription in subscriptions:
            writes.append(self._put_sub(subscription, condition="attribute_not_exists(pk)"))
            writes.append(self._put_name(subscription))
        self._transact(writes, [s.name for s in subscriptions for _ in (0, 1)])

    def items_of(self, subscription: Subscription) -> list[tuple[Key, dict[str, Any]]]:
        """The subscription's two items, as `Table.write_batch` takes them (for bulk loads, e.g. the benchmark's)."""
        return [
            (write.key, dict(write.attributes))
            for write in (self._put_sub(subscription, condition=None), self._put_name(subscription))
        ]

    def replace(self, old: Subscription, new: Subscription) -> None:
        """The definition changes; lastTriggered and webHookStatus stay as the latest outcome left them (an
        update, not a put, so an outcome recorded meanwhile is not lost)."""
        writes: list[Write] = [self._update_sub(new, seen_version=old.version)]
        names = [new.name]
        old_name = items.name(old.platform, old.owner, old.name)
        if old_name != items.name(new.platform, new.owner, new.name):
            writes += [Delete(old_name), self._put_name(new)]
            names += [new.name, new.name]
        self._transact(writes, names)

    def delete(self, subscriptions: Sequence[Subscription]) -> None:
        writes: list[Write] = []
        for subscription in subscriptions:
            writes.append(
                Delete(
                    items.subscription(subscription.ref),
                    condition="version = :seen",
                    values={":seen": subscription.version},
                )
            )
            writes.append(Delete(items.name(subscription.platform, subscription.owner, subscription.name)))
        self._transact(writes, [s.name for s in subscriptions for _ in (0, 1)])

    def record_trigger(
        self,
        ref: str,
        *,
        last_triggered: str | None = None,
        webhook_status: str | None = None,
        disable_webhook: bool = False,
        outcome_at: str | None = None,
    ) -> None:
        """Stamp lastTriggered / webHookStatus; a disabled webhook also leaves the push schedule. With
        `outcome_at` (a delivery attempt's ISO time) the stamp applies only if no later attempt was recorded."""
        sets: list[str] = []
        values: dict[str, Any] = {}
        condition = "attribute_exists(pk)"
        if outcome_at is not None:
            sets.append("pushOutcomeAt = :at")
            values[":at"] = outcome_at
            condition += " AND (attribute_not_exists(pushOutcomeAt) OR pushOutcomeAt <= :at)"
        if last_triggered is not None:
            sets.append("lastTriggered = :lt")
            values[":lt"] = last_triggered
        if webhook_status is not None:
            sets.append("webHookStatus = :ws")
            values[":ws"] = webhook_status
        if disable_webhook:
            sets.append("webhookDisabled = :yes")
            values[":yes"] = True
        expression = "SET " + ", ".join(sets) + (" REMOVE duePk, dueAt" if disable_webhook else "")
        # Not stamped when deleted meanwhile, or when a newer outcome is recorded. Nothing read back: every
        # attempt of every push stamps its subscription, so the write stays small.
        self.table.update_if(items.subscription(ref), expression, condition=condition, values=values)

    def rotate_secret(self, subscription: Subscription, new_secret: str, previous_until: float) -> bool:
        """The new secret current, the old one kept until `previous_until`; a new version, so that a replace read
        before the rotation cannot write the old secret back. False when it changed since it was read."""
        return self.table.update_if(
            items.subscription(subscription.ref),
            "SET signingSecret = :new, previousSigningSecret = :old, previousSecretUntil = :until, #version = :next",
            condition="#version = :seen",
            names={"#version": "version"},
            values={
                ":new": new_secret,
                ":old": subscription.signing_secret,
                ":until": previous_until,
                ":next": subscription.version + 1,
                ":seen": subscription.version,
            },
        )

    def claim_push(self, subscription: Subscription, next_at: float, now: float) -> bool:
        """Take a due push: move dueAt on to `next_at`, unless it changed since it was read or another run took it."""
        return self.table.update_if(
            items.subscription(subscription.ref),
            "SET dueAt = :next",
            condition="version = :version AND dueAt <= :now",
            values={":next": clock.iso(next_at), ":version": subscription.version, ":now": clock.iso(now)},
        )

    def unschedule(self, subscription: Subscription) -> None:
        """Off the push schedule (unless it changed since it was read)."""
        self.table.update_if(
            items.subscription(subscription.ref),
            "REMOVE duePk, dueAt",
            condition="version = :version",
            values={":version": subscription.version},
        )

    def due_again(self, ref: str, at: float) -> None:
        self.table.update(items.subscription(ref), "SET dueAt = :now", values={":now": clock.iso(at)})

    def _subscription_attributes(self, subscription: Subscription) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "ref": subscription.ref,
            "platform": subscription.platform,
            "owner": subscription.owner,
            "name": subscription.name,
            # One JSON string: never queried inside, and far cheaper to read and write than a nested map.
            "definition": json.dumps(subscription.definition, separators=(",", ":")),
            "created": subscription.created,
            "createdBy": subscription.created_by,
            "updated": subscription.updated,
            "updatedBy": subscription.updated_by,
            "version": subscription.version,
            "signingSecret": subscription.signing_secret,
            "lastTriggered": subscription.last_triggered or None,
            "webHookStatus": subscription.webhook_status or None,
            "webhookDisabled": subscription.webhook_disabled,
        }
        if subscription.pushes:
            attributes["duePk"] = due_partition(items.DUE_CATEGORY, subscription.ref)
            attributes["dueAt"] = clock.iso(schedule.first_due(clock.epoch(), subscription.definition.get("schedule")))
        return attributes

    def _put_sub(self, subscription: Subscription, *, condition: str | None) -> Put:
        return Put(
            items.subscription(subscription.ref), self._subscription_attributes(subscription), condition=condition
        )

    def _update_sub(self, subscription: Subscription, *, seen_version: int) -> Update:
        values: dict[str, Any] = {
            ":seen": seen_version,
            ":name": subscription.name,
            ":owner": subscription.owner,
            ":definition": json.dumps(subscription.definition, separators=(",", ":")),
            ":updated": subscription.updated,
            ":by": subscription.updated_by,
            ":version": subscription.version,
            ":secret": subscription.signing_secret,
            ":disabled": subscription.webhook_disabled,
        }
        expression = (
            "SET #name = :name, #owner = :owner, #definition = :definition, #updated = :updated, "
            "updatedBy = :by, #version = :version, signingSecret = :secret, webhookDisabled = :disabled"
        )
        if subscription.pushes:
            values[":duePk"] = due_partition(items.DUE_CATEGORY, subscription.ref)
            values[":dueAt"] = clock.iso(schedule.first_due(clock.epoch(), subscription.definition.get("schedule")))
            expression += ", duePk = :duePk, dueAt = :dueAt"
        else:
            expression += " REMOVE duePk, dueAt"
        return Update(
            items.subscription(subscription.ref),
            expression,
            condition="version = :seen",
            # name, owner, definition, updated and version are all DynamoDB reserved words.
            names={
                "#name": "name",
                "#owner": "owner",
                "#definition": "definition",
                "#updated": "updated",
                "#version": "version",
            },
            values=values,
        )

    def _put_name(self, subscription: Subscription) -> Put:
        return Put(
            items.name(subscription.platform, subscription.owner, subscription.name),
            {"ref": subscription.ref, "platform": subscription.platform},
            condition="attribute_not_exists(pk)",
        )

    def _transact(self, writes: list[Write], names: list[str]) -> None:
        try:
            self.table.transact(*writes)
        except TransactionCancelled as cancelled:
            for index, write in enumerate(writes):
                if (
                    cancelled.condition_failed(index)
                    and isinstance(write, Put)
                    and write.key.sk.startswith(items.NAME_PREFIX)
                ):
                    raise Conflict(f"A subscription named {names[index]} already exists.") from None
            if cancelled.refused:
                raise Conflict("The subscription was changed by another request; read it and retry.") from None
            raise


def _looks_like_ref(ref: str) -> bool:
    return 0 < len(ref) <= 64 and all(c.isalnum() or c == "-" for c in ref)


# ------------------------------------------------------------------------------------------------- logic


def _resolve_owner(body: SubscriptionBody, caller: Caller, default: str) -> str:
    owner = default if body.owner is None else body.owner.strip()
    if owner == "" and not caller.admin:
        raise Invalid('Only administrators can define global subscriptions (owner "").')
    if owner not in {"", caller.user} and not caller.admin:
        raise Invalid(f'owner must be your own user name ({caller.user}) or "" for a global subscription.')
    return owner


def _definition(body: SubscriptionBody, owner: str) -> dict[str, Any]:
    definition = body.model_dump(mode="json", exclude_none=True)
    definition["owner"] = owner
    return definition


def _check_fields(platform: str, definition: Mapping[str, Any], catalogue: Catalogue) -> None:
    unknown = unknown_fields(definition, catalogue)
    if unknown:
        raise Invalid(f"Unknown {platform} field: {', '.join(unknown[:5])}.")


def create_subscriptions(
    platform: str,
    bodies: Sequence[SubscriptionBody],
    caller: Caller,
    store: SubscriptionStore | None = None,
    records: RecordStore | None = None,
) -> list[Subscription]:
    """All or nothing: every item is validated and every name checked before anything is written, and the
    writes are one transaction."""
    store, records = store or SubscriptionStore(), records or RecordStore()
    if not bodies:
        raise Invalid("The request body must be a non-empty JSON array of subscriptions.")
    if len(bodies) > MAX_PER_REQUEST:
        raise Invalid(f"At most {MAX_PER_REQUEST} subscriptions can be created in one request.")
    now = clock.epoch()
    catalogue = records.catalogue(platform)
    created: list[Subscription] = []
    seen: set[tuple[str, str]] = set()
    for body in bodies:
        owner = _resolve_owner(body, caller, caller.user)
        definition = _definition(body, owner)
        if definition.get("webhook", {}).get("authType") and not definition["webhook"].get("authValue"):
            raise Invalid("webhook.authValue is required when webhook.authType is given.")
        _check_fields(platform, definition, catalogue)
        key = items.name(platform, owner, body.subscriptionName)
        if key in seen:
            raise Invalid(f"A subscription named {body.subscriptionName} appears twice in the request.")
        seen.add(key)
        created.append(
            Subscription(
                ref=str(uuid.uuid4()),
                platform=platform,
                owner=owner,
                name=body.subscriptionName,
                definition=definition,
                created=now,
                created_by=caller.user,
                updated=now,
                updated_by=caller.user,
                version=1,
                signing_secret=_new_signing_secret(),
            )
        )
    store.save_new(created)
    return created


def visible(ref: str, platform: str, caller: Caller, store: SubscriptionStore | None = None) -> Subscription:
    subscription = (store or SubscriptionStore()).get(ref)
    if subscription is None or subscription.platform != platform or not subscription.visible_to(caller):
        raise subscription_not_found(ref)
    return subscription


def _changeable(ref: str, platform: str, caller: Caller, store: SubscriptionStore) -> Subscription:
    subscription = visible(ref, platform, caller, store)
    if not subscription.changeable_by(caller):
        raise Invalid("Only administrators can change or delete global subscriptions.")
    return subscription


def replace_subscription(
    platform: str,
    ref: str,
    body: SubscriptionBody,
    caller: Caller,
    store: SubscriptionStore | None = None,
    records: RecordStore | None = None,
) -> Subscription:
    """Full replace: fields left out take their defaults. A webhook credential left out while the webhook's
    uri and authType are unchanged is kept (the list never shows it, so a GET-then-PUT must not lose it)."""
    store, records = store or SubscriptionStore(), records or RecordStore()
    old = _changeable(ref, platform, caller, store)
    owner = _resolve_owner(body, caller, old.owner)
    definition = _definition(body, owner)
    webhook, old_webhook = definition.get("webhook"), old.definition.get("webhook") or {}
    if webhook and webhook.get("authType") and not webhook.get("authValue"):
        if webhook.get("uri") == old_webhook.get("uri") and webhook["authType"] == old_webhook.get("authType"):
            webhook["authValue"] = old_webhook.get("authValue")
        else:
            raise Invalid("webhook.authValue is required when webhook.authType is given.")
    _check_fields(platform, definition, records.catalogue(platform))
    new = Subscription(
        ref=old.ref,
        platform=old.platform,
        owner=owner,
        name=body.subscriptionName,
        definition=definition,
        created=old.created,
        created_by=old.created_by,
        updated=clock.epoch(),
        updated_by=caller.user,
        version=old.version + 1,
        signing_secret=old.signing_secret or _new_signing_secret(),
        # A replace is the owner's say-so: a webhook deactivated by a 410 is active again (docs/densify.md).
        last_triggered=old.last_triggered,
        webhook_status=old.webhook_status,
        webhook_disabled=False,
    )
    store.replace(old, new)
    if old.webhook_disabled:  # re-enabled: the failures that disabled it no longer count
        from pollgate.webhooks import reset_endpoint_health

        reset_endpoint_health(items.PUSH_OWNER_KIND, items.PUSH_TENANT, new.ref, store.table)
    return new


def delete_subscriptions(
    platform: str, refs: Sequence[str], caller: Caller, store: SubscriptionStore | None = None
) -> None:
    """All or nothing: one missing or invisible subscription is a 404 and nothing is deleted."""
    store = store or SubscriptionStore()
    if not refs:
        raise Invalid("Name at least one subscriptionRef to delete.")
    if len(refs) > MAX_PER_REQUEST:
        raise Invalid(f"At most {MAX_PER_REQUEST} subscriptions can be deleted in one request.")
    if len(set(refs)) != len(refs):
        raise Invalid("A subscriptionRef appears twice in the request.")
    store.delete([_changeable(ref, platform, caller, store) for ref in refs])


def list_subscriptions(
    platform: str,
    caller: Caller,
    *,
    kind: str = "all",
    owner: str | None = None,
    ref: str | None = None,
    store: SubscriptionStore | None = None,
) -> list[Subscription]:
    store = store or SubscriptionStore()
    if kind not in {"all", "global", "owner"}:
        raise Invalid("type must be one of all, global, owner.")
    if ref:
        return [visible(ref, platform, caller, store)]
    refs: list[str] = []
    if kind in {"all", "global"}:
        refs += [r for r, _ in store.refs_named(items.global_names(platform), items.NAME_PREFIX)]
    if kind in {"all", "owner"}:
        # Only the owner sees private subscriptions: asking for someone else's lists nothing (never a 403).
        wanted = owner if owner else caller.user
        if wanted == caller.user:
            refs += [r for r, _ in store.refs_named(items.owned_names(wanted), items.owned_name_prefix(platform))]
    subscriptions = store.many(refs)
    if owner is not None and kind == "all":
        subscriptions = [s for s in subscriptions if s.owner == owner]
    return sorted(subscriptions, key=lambda s: (s.owner, s.name.casefold()))
