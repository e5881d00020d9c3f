"""The results document of a subscription (on demand and pushed), and its status.

`lastTriggered` and `webHookStatus` are written in the vendor's words: "On-Demand Success. <date>",
"On-Demand Failure. <date>", "Scheduled Success. <date>", "Scheduled-Failure. <date>" and
"Success. <reason> <date>" / "Failure. <reason> <date>", dates as Java's Date.toString() prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pollgate import clock
from pollgate.densify.auth import Caller
from pollgate.densify.dates import java_date
from pollgate.densify.errors import too_large_message
from pollgate.densify.models import ResultsDocument, SubscriptionStatus
from pollgate.densify.records import Catalogue, RecordStore, selected, shape
from pollgate.densify.subscriptions import Subscription, SubscriptionStore, visible
from pollgate.errors import Invalid, TooLarge

DEFAULT_LIMIT = 3000
MAX_LIMIT = 30000


def on_demand_success(at: float) -> str:
    return f"On-Demand Success. {java_date(at)}"


def on_demand_failure(at: float) -> str:
    return f"On-Demand Failure. {java_date(at)}"


def scheduled_success(at: float) -> str:
    return f"Scheduled Success. {java_date(at)}"


def scheduled_failure(at: float) -> str:
    return f"Scheduled-Failure. {java_date(at)}"


def webhook_success(reason: str, at: float) -> str:
    return f"Success. {reason} {java_date(at)}"


def webhook_failure(reason: str, at: float) -> str:
    return f"Failure. {reason} {java_date(at)}"


def over_limit_message(count: int, limit: int) -> str:
    return (
        f"On-Demand Failure. The return count of {count} has exceeded object return limit of {limit}. "
        f"Refine the subscription's filters or raise limit (at most {MAX_LIMIT})."
    )


@dataclass(frozen=True)
class RecordSet:
    """One platform's records and catalogue, read once and shared by every subscription of a scheduler run."""

    catalogue: Catalogue
    systems: list[dict[str, Any]]

    @classmethod
    def load(cls, platform: str, records: RecordStore | None = None) -> RecordSet:
        records = records or RecordStore()
        return cls(records.catalogue(platform), records.systems(platform))

    def select(self, definition: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [system for system in self.systems if selected(system, definition)]


def results_document(
    subscription: Subscription, record_set: RecordSet, matched: list[dict[str, Any]], *, divider: bool
) -> dict[str, Any]:
    return {
        "subscription": subscription.header(record_set.catalogue.last_refreshed),
        "count": len(matched),
        "results": [
            shape(system, subscription.definition, record_set.catalogue, divider=divider) for system in matched
        ],
    }


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        limit = int(text) if len(text) <= len(str(MAX_LIMIT)) + 1 else 0  # never int() of thousands of digits
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return limit


MAX_ATTEMPTS_LISTED = 1000


def parse_attempt_limit(text: str | None) -> int:
    """How many delivery attempts to list (default 100)."""
    if text is None or text == "":
        return 100
    # At most four digits read: a longer string is refused before int() (beyond 4300 digits it raises ValueError).
    if not text.isdigit() or len(text) > len(str(MAX_ATTEMPTS_LISTED)) or not 1 <= int(text) <= MAX_ATTEMPTS_LISTED:
        raise Invalid(f"limit must be a whole number from 1 to {MAX_ATTEMPTS_LISTED}.")
    return int(text)


def parse_divider(text: str | None) -> bool:
    if text is None or text == "":
        return False
    if text.lower() not in {"true", "false"}:
        raise Invalid("divider must be true or false.")
    return text.lower() == "true"


def on_demand_results(
    platform: str,
    ref: str,
    caller: Caller,
    *,
    divider: bool,
    limit: int,
    returnable: Callable[[ResultsDocument], None] = lambda _: None,
    store: SubscriptionStore | None = None,
    records: RecordStore | None = None,
) -> ResultsDocument:
    """The current results whatever `active`, `webhook` and `schedule` say; stamps lastTriggered either way.

    `returnable` raises TooLarge for a document too large to answer (pollgate.api.answer_check): that is an
    On-Demand Failure too, in the vendor's words, with the size.
    """
    store = store or SubscriptionStore()
    subscription = visible(ref, platform, caller, store)
    record_set = RecordSet.load(platform, records)
    matched = record_set.select(subscription.definition)
    now = clock.epoch()
    if len(matched) > limit:
        store.record_trigger(subscription.ref, last_triggered=on_demand_failure(now))
        raise Invalid(over_limit_message(len(matched), limit))
    document = ResultsDocument.model_validate(results_document(subscription, record_set, matched, divider=divider))
    try:
        returnable(document)
    except TooLarge as error:
        store.record_trigger(subscription.ref, last_triggered=on_demand_failure(now))
        document_size = too_large_message(error, f"The results document of {len(matched)} systems")
        raise Invalid(f"On-Demand Failure. {document_size} Lower limit or refine the subscription's filters.") from None
    store.record_trigger(subscription.ref, last_triggered=on_demand_success(now))
    return document


def status(platform: str, ref: str, caller: Caller, store: SubscriptionStore | None = None) -> SubscriptionStatus:
    subscription = visible(ref, platform, caller, store)
    return SubscriptionStatus(lastTriggered=subscription.last_triggered, webHookStatus=subscription.webhook_status)
