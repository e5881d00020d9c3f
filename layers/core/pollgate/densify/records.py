"""Result records: what subscriptions select from, as the operator's data pipeline publishes them.

One document per platform type (docs/densify.md, "Result records"):

    {"properties":   [{"id": "recommendationType", "alias": "Recommendation"}, ...],
     "tags":         [{"id": "Business Unit", "alias": "BU"}, ...],
     "suppressions": [{"id": "Excluded By Owner", "alias": "Excluded"}, ...],
     "systems": [{"id": "i-0abc", "properties": {...}, "tags": {...}, "suppressions": {...}}, ...]}

The first three lists are the catalogue (the IDs filters and returnStructure may name, and their aliases);
`systems` are the records. Publishing replaces the platform's whole set and stamps `lastRefreshed`.
Storage (densify/items.py): the catalogue is one item per platform; each record is one JSON string (never queried
inside; a string costs far less to read and write than a nested map).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ConfigDict, Field

from pollgate import clock
from pollgate.densify import items
from pollgate.models import Model
from pollgate.store import Key, Table


class CatalogueEntry(Model):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    alias: str = Field(default="", max_length=128)


class SystemRecord(Model):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=256)
    properties: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    tags: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    suppressions: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class RecordsDocument(Model):
    model_config = ConfigDict(extra="ignore")

    properties: list[CatalogueEntry] = Field(default_factory=list)
    tags: list[CatalogueEntry] = Field(default_factory=list)
    suppressions: list[CatalogueEntry] = Field(default_factory=list)
    systems: list[SystemRecord] = Field(default_factory=list)


@dataclass(frozen=True)
class Catalogue:
    """The field IDs of one platform, each with its alias (the ID itself when it has none)."""

    properties: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    suppressions: dict[str, str] = field(default_factory=dict)
    last_refreshed: float | None = None

    @property
    def published(self) -> bool:
        return self.last_refreshed is not None


class RecordStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def catalogue(self, platform: str) -> Catalogue:
        item = self.table.get(items.catalogue(platform))
        if item is None:
            return Catalogue()
        return Catalogue(
            item.get("properties", {}), item.get("tags", {}), item.get("suppressions", {}), float(item["lastRefreshed"])
        )

    def systems(self, platform: str) -> list[dict[str, Any]]:
        return [json.loads(item["record"]) for item in self.table.query(items.records(platform), items.RECORD_PREFIX)]

    def publish(self, platform: str, document: RecordsDocument) -> int:
        """Replace the platform's records with the document's; answers how many systems were published."""
        ids = [system.id for system in document.systems]
        if len(set(ids)) != len(ids):
            raise ValueError("system ids must be unique within a platform")
        keep = {items.record(platform, system_id) for system_id in ids}
        stored = (
            Key(item["pk"], item["sk"]) for item in self.table.query(items.records(platform), items.RECORD_PREFIX)
        )
        self.table.write_batch(
            puts=[
                (items.record(platform, system.id), {"record": system.model_dump_json()}) for system in document.systems
            ],
            deletes=[key for key in stored if key not in keep],
        )
        self.table.put(
            items.catalogue(platform),
            {
                "properties": {entry.id: entry.alias or entry.id for entry in document.properties},
                "tags": {entry.id: entry.alias or entry.id for entry in document.tags},
                "suppressions": {entry.id: entry.alias or entry.id for entry in document.suppressions},
                "lastRefreshed": clock.epoch(),
            },
        )
        return len(ids)


# ------------------------------------------------------------------------------------------------ filters


def matches(reference: Mapping[str, Any], value: Any) -> bool:
    """Does one system's value satisfy one filter reference ({operator, values})?"""
    if value is None:
        return False
    text = _text(value)
    operator, values = reference["operator"], [str(v) for v in reference["values"]]
    if operator == "=":
        return any(_equal(text, wanted) for wanted in values)
    if operator == "[]":
        return _in_range(text, values[0], values[1])
    if operator == "like":
        return any(_like(pattern).search(text) is not None for pattern in values)
    raise ValueError(f"unknown operator {operator}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _equal(text: str, wanted: str) -> bool:
    left, right = _number(text), _number(wanted)
    if left is not None and right is not None:
        return left == right
    return text.casefold() == wanted.casefold()


def _in_range(text: str, low: str, high: str) -> bool:
    """Inclusive; numeric when all three are numbers, else by text (ISO dates compare correctly as text)."""
    value, lower, upper = _number(text), _number(low), _number(high)
    if value is not None and lower is not None and upper is not None:
        return lower <= value <= upper
    return low.casefold() <= text.casefold() <= high.casefold()


_LIKE_CACHE: dict[str, re.Pattern[str]] = {}


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (% any run, _ one character), case-insensitive; a pattern without wildcards means "contains"."""
    compiled = _LIKE_CACHE.get(pattern)
    if compiled is None:
        if "%" not in pattern and "_" not in pattern:
            compiled = re.compile(re.escape(pattern), re.IGNORECASE)
        else:
            body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
            compiled = re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL)
        if len(_LIKE_CACHE) < 1024:
            _LIKE_CACHE[pattern] = compiled
    return compiled


def selected(system: Mapping[str, Any], definition: Mapping[str, Any]) -> bool:
    """Every property and tag reference holds (AND across references, OR within one's values), and no
    suppression reference holds (a matching suppression removes the system)."""
    properties, tags = system.get("properties", {}), system.get("tags", {})
    suppressions = system.get("suppressions", {})
    for reference in definition.get("propertyReferences", []):
        if not matches(reference, properties.get(reference["propertyID"])):
            return False
    for reference in definition.get("tagReferences", []):
        if not matches(reference, tags.get(reference["tagID"])):
            return False
    return not any(
        matches(reference, suppressions.get(reference["suppressionID"]))
        for reference in definition.get("suppressionReferences", [])
    )


DIVIDER = "------------------------"


def shape(
    system: Mapping[str, Any], definition: Mapping[str, Any], catalogue: Catalogue, *, divider: bool
) -> dict[str, Any]:
    """One system in the results, keyed as returnStructure says (ID, or alias when useAlias); without a
    returnStructure, every property and tag by ID. The divider separates properties from tags."""
    properties, tags = system.get("properties", {}), system.get("tags", {})
    structure = definition.get("returnStructure") or {}
    out: dict[str, Any] = {}
    if structure.get("properties") or structure.get("tags"):
        for wanted in structure.get("properties", []):
            key = (
                catalogue.properties.get(wanted["propertyID"], wanted["propertyID"])
                if wanted.get("useAlias")
                else wanted["propertyID"]
            )
            out[key] = properties.get(wanted["propertyID"])
        if divider:
            out["divider"] = DIVIDER
        for wanted in structure.get("tags", []):
            key = catalogue.tags.get(wanted["tagID"], wanted["tagID"]) if wanted.get("useAlias") else wanted["tagID"]
            out[key] = tags.get(wanted["tagID"])
        return out
    out.update(properties)
    if divider:
        out["divider"] = DIVIDER
    out.update(tags)
    return out


def unknown_fields(definition: Mapping[str, Any], catalogue: Catalogue) -> list[str]:
    """Field IDs a subscription names that the platform's published catalogue does not have."""
    if not catalogue.published:
        return []  # nothing published yet: there is nothing to check against
    structure = definition.get("returnStructure") or {}
    named: Iterable[tuple[str, str, dict[str, str]]] = [
        *((r["propertyID"], "propertyID", catalogue.properties) for r in definition.get("propertyReferences", [])),
        *((r["tagID"], "tagID", catalogue.tags) for r in definition.get("tagReferences", [])),
        *(
            (r["suppressionID"], "suppressionID", catalogue.suppressions)
            for r in definition.get("suppressionReferences", [])
        ),
        *((r["propertyID"], "propertyID", catalogue.properties) for r in structure.get("properties", [])),
        *((r["tagID"], "tagID", catalogue.tags) for r in structure.get("tags", [])),
    ]
    return [f"{kind} {name}" for name, kind, known in named if name not in known]
