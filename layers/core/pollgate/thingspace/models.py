"""Request and answer bodies of the ThingSpace face (API.md section 3)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from pollgate.models import Model, left_out_when_none
from pollgate.thingspace.kinds import DeviceIdKind
from pollgate.webhooks.models import AttemptRecord

MAX_DEVICES_PER_REQUEST = 100  # ours: the vendor caps bulk actions too; this keeps one workflow inside its deadline


class DeviceId(Model):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    kind: DeviceIdKind

    @field_validator("kind", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value  # clients send "IMEI" as often as "imei"


class DeviceEntry(Model):
    model_config = ConfigDict(extra="ignore")

    deviceIds: list[DeviceId] = Field(min_length=1, max_length=7)


class LoginRequest(Model):
    model_config = ConfigDict(extra="ignore")

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)


class DeviceActionRequest(Model):
    """The body every device action takes; `servicePlan` matters to activate, `reasonCode` to deactivate."""

    model_config = ConfigDict(extra="ignore")

    accountName: str = Field(min_length=1, max_length=64)
    devices: list[DeviceEntry] = Field(min_length=1, max_length=MAX_DEVICES_PER_REQUEST)
    servicePlan: str | None = Field(default=None, max_length=64)
    mdnZipCode: str | None = Field(default=None, max_length=10)
    reasonCode: str | None = Field(default=None, max_length=8)
    etfWaiver: bool | None = None
    groupName: str | None = Field(default=None, max_length=64)

    def options(self) -> dict[str, object]:
        """What the provisioning backend needs beyond the device ids."""
        return self.model_dump(exclude={"accountName", "devices"}, exclude_none=True)


MAX_DEVICES_LISTED = 1000  # ours: one page of the device list at most; the vendor pages too


class DeviceListRequest(Model):
    """POST /devices/actions/list: one account's devices, a page at a time, or the one device `deviceId` names."""

    model_config = ConfigDict(extra="ignore")

    accountName: str = Field(min_length=1, max_length=64)
    deviceId: DeviceId | None = None
    currentState: str | None = Field(default=None, max_length=32, description="Only devices in this state")
    maxNumberOfDevices: int = Field(default=500, ge=1, le=MAX_DEVICES_LISTED)
    lastSeenDeviceId: int = Field(
        default=0, ge=0, le=10**12, description="The previous page's lastSeenDeviceId: the page after it"
    )
    largestDeviceIdSeen: int | None = Field(
        default=None, ge=0, le=10**12, description="The same as lastSeenDeviceId (the name the vendor's SDK uses)"
    )


class CarrierInformation(Model):
    carrierName: str = "Verizon Wireless"
    state: str = Field(description="pre-active, active, suspend or deactive")


class ListedDevice(Model):
    accountName: str
    deviceIds: list[DeviceId]
    carrierInformations: list[CarrierInformation]
    createdAt: str | None = left_out_when_none()


class DeviceList(Model):
    devices: list[ListedDevice]
    hasMoreData: bool = Field(description="True: ask again with lastSeenDeviceId for the next page")
    lastSeenDeviceId: int | None = left_out_when_none(description="ours: where the next page starts")


class RequestId(Model):
    requestId: str


class RequestStatus(Model):
    requestId: str
    status: Literal["Pending", "Success", "Failed"]


CallbackServiceName = Literal[
    "CarrierService",
    "DeviceDiagnostics",
    "DeviceProfileService",
    "DeviceUsage",
    "EnhancedConnectivityService",
    "ExternalProvisioningChanges",
    "PromoChanges",
    "SMSDeliveryConfirmation",
    "SMSDelivery",
]


class CallbackRegistration(Model):
    model_config = ConfigDict(extra="ignore")

    name: CallbackServiceName
    url: str = Field(min_length=1, max_length=2048)
    username: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, max_length=256)

    @field_validator("url")
    @classmethod
    def _absolute_http(cls, value: str) -> str:
        from urllib.parse import urlsplit

        from pollgate.webhooks.ssrf import UrlRefused, check_registered_url

        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        try:
            return check_registered_url(value)
        except UrlRefused as refusal:  # refused by its form alone (README "Webhooks")
            raise ValueError(str(refusal)) from None


class VendorError(Model):
    """The M2M services' error: clients match errorCode, never errorMessage."""

    errorCode: str = Field(description="<CLASS>.<Specific>, e.g. REQUEST_FAILED.SessionToken.Expired")
    errorMessage: str


class Fault(Model):
    code: str = Field(description="900901 invalid or expired credentials, 900902 missing, 900906 no such resource")
    message: str
    description: str


class GatewayFault(Model):
    """The API gateway's error, in front of the services: a missing or bad OAuth credential, an unknown path."""

    fault: Fault


class OAuthError(Model):
    """The token endpoint's refusal of a grant (RFC 6749 section 5.2)."""

    error: str
    error_description: str


ErrorBody = VendorError | GatewayFault | OAuthError


class TokenRequest(Model):
    """The token endpoint's form body (application/x-www-form-urlencoded), as the OpenAPI document shows it."""

    grant_type: Literal["client_credentials"]


class AccessToken(Model):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="Seconds the token has left (the same token is answered all hour)")
    scope: str


class SessionToken(Model):
    sessionToken: str


class CallbackRegistered(Model):
    accountName: str
    serviceName: CallbackServiceName
    signingSecret: str = Field(description="ours: the Standard Webhooks secret the listener verifies callbacks with")


class CallbackView(Model):
    """A registered listener as listed, in the vendor's names (its SDK reads serviceName): never its password."""

    accountName: str
    serviceName: CallbackServiceName
    url: str
    username: str | None = left_out_when_none()


class CallbackDeleted(Model):
    accountName: str
    serviceName: str


# ------------------------------------------------------------------- a listener's deliveries and secret (ours)


class ListenerDeliveries(Model):
    """A listener's callback attempts, as the webhook engine recorded them (ours, not the vendor's)."""

    accountName: str
    serviceName: str
    active: bool = Field(description="false once the listener answered 410 or failed for days (see disabledReason)")
    disabledReason: str | None = left_out_when_none()
    attempts: list[AttemptRecord] = Field(description="Every recorded attempt, newest first")


class ListenerResent(Model):
    accountName: str
    serviceName: str
    deliveryId: str
    resentFrom: str = Field(description="The delivery re-sent; the new one carries its webhook-id")


class ListenerSecretRotated(Model):
    accountName: str
    serviceName: str
    signingSecret: str = Field(description="The new Standard Webhooks secret: every callback is signed with it now")
    previousSecretValidUntil: str = Field(
        description="Until then (ISO 8601, 24 h) callbacks carry a second signature made with the replaced secret"
    )


class ListenerTestSent(Model):
    """A sample callback sent now, and recorded like any callback attempt."""

    accountName: str
    serviceName: str
    deliveryId: str
    succeeded: bool
    statusCode: int | None = left_out_when_none()
    error: str | None = left_out_when_none()
    durationMs: int
