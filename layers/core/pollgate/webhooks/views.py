"""The webhook recovery's request and answer, as the faces' recovery routes validate and show them."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from pollgate.models import Model


class RecoveryRequest(Model):
    """Re-send every delivery that failed for good between `since` and `until` (ours, not a vendor's)."""

    model_config = ConfigDict(extra="forbid")

    since: str = Field(description="ISO 8601 with a zone, within the last 30 days", max_length=64)
    until: str | None = Field(default=None, description="ISO 8601 with a zone; default: now", max_length=64)


class RecoveryView(Model):
    """A recovery: Pending (poll its url; Retry-After says when), then Succeeded with the count re-sent."""

    recoveryId: str
    status: Literal["Pending", "Succeeded", "Failed"]
    since: str
    until: str
    url: str = Field(default="", description="Where to poll it")
    resent: int | None = Field(default=None, description="How many deliveries were re-sent (once finished)")
    deliveryIds: list[str] | None = Field(default=None, description="The re-sends' delivery ids")
    error: str | None = None
