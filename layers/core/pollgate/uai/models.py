"""Request and response bodies of the Updates and Insights face (API.md section 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from pollgate.models import Model

# The vendor's device ID types; "" for an anonymous device.
IdType = Literal[
    "",
    "UNKNOWN",
    "STRING",
    "ETHERNET",
    "FLEXID9",
    "FLEXID10",
    "VM_UUID",
    "INTERNET",
    "INTERNET6",
    "USER",
    "TOLERANT",
    "EXTENDED",
    "PUBLISHER_DEFINED",
    "CONTAINER_ID",
]


class StatusLogRequest(Model):
    """A device's report of update progress. Anonymous devices leave id, idType and publisherName empty."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default="", max_length=256, description="Device ID; empty for an anonymous device.")
    idType: IdType = Field(
        default="", validate_default=True, description="Type of the device ID; required when id is given."
    )
    language: int = Field(strict=True, ge=0, le=0xFFFF, description="Windows LCID, e.g. 1033.")
    packageId: str = Field(min_length=1, max_length=256)
    platform: str = Field(min_length=1, max_length=64, description="e.g. WIN64")
    publisherName: str = Field(default="", max_length=256)
    statusCode: int = Field(
        strict=True,
        ge=0,
        le=8,
        description="0 download started, 1 download completed, 2 download failed, 3 install started, "
        "4 install completed, 8 message delivered.",
    )
    statusReason: str = Field(default="", max_length=100)
    timeStamp: str = Field(
        min_length=1,
        max_length=64,
        description="ISO-8601 time of the event on the device.",
        json_schema_extra={"format": "date-time"},
    )
    updateId: str = Field(min_length=1, max_length=256)
    updateName: str = Field(min_length=1, max_length=256)
    deviceClass: Literal["client", "server", "served"] = "client"

    @field_validator("timeStamp")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value.upper())  # RFC 3339 allows a lower-case t and z
        except ValueError:
            raise ValueError("must be an ISO-8601 date and time, e.g. 2026-11-22T10:15:00Z") from None
        return value

    @field_validator("idType")
    @classmethod
    def _identity_complete(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("id") and not value:
            raise ValueError("idType is required when id is given")
        return value


class PollingUrl(Model):
    url: str = Field(description="Relative URL to poll for the outcome.")


class Outcome(Model):
    """The outcome of a request, and the shape of every error of this face."""

    arguments: str
    key: str
    message: str


class PublicKeyUpload(Model):
    model_config = ConfigDict(extra="ignore")

    publicKey: str = Field(min_length=1, max_length=8192, description="base64 DER SubjectPublicKeyInfo (RSA)")
    revokeOthers: bool = Field(
        default=False,
        description="ours: revoke every other key at once (a compromised key), not after the grace period",
    )


class KeyView(Model):
    keyId: str
    state: Literal["active", "retiring", "revoked"]
    uploadedAt: str
    notAfter: str | None = None


class KeyList(Model):
    keys: list[KeyView]
