"""Request and answer bodies of the Densify face (API.md section 2), with every field validated.

Unknown fields are ignored rather than refused: clients commonly GET a subscription and PUT it back, with the
server's own fields (subscriptionRef, lastTriggered, webHookStatus) still in it.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, RootModel, StringConstraints, field_validator, model_validator

from pollgate.models import Model, left_out_when_none

PlatformType = Literal["cloud", "containers"]
PLATFORMS: tuple[PlatformType, ...] = ("cloud", "containers")
Operator = Literal["=", "[]", "like"]

MAX_FILTERS = 50
MAX_VALUES = 100
MAX_RETURNED_FIELDS = 200

FieldId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
FilterValue = Annotated[str, StringConstraints(max_length=256)]


class AuthorizeRequest(Model):
    model_config = ConfigDict(extra="ignore")

    userName: str = Field(min_length=1, max_length=128)
    pwd: str = Field(min_length=1, max_length=1024)


class _Reference(Model):
    model_config = ConfigDict(extra="ignore")

    operator: Operator = Field(
        description='"=" any of the values, "[]" an inclusive range [low, high], '
        '"like" a pattern (% any run, _ one character; no wildcard = contains)'
    )
    values: list[FilterValue] = Field(min_length=1, max_length=MAX_VALUES)

    @model_validator(mode="after")
    def _range_has_two_ends(self) -> _Reference:
        if self.operator == "[]" and len(self.values) != 2:
            raise ValueError('the "[]" operator takes exactly two values, [low, high]')
        return self


class PropertyReference(_Reference):
    propertyID: FieldId


class TagReference(_Reference):
    tagID: FieldId


class SuppressionReference(_Reference):
    suppressionID: FieldId


class ReturnedProperty(Model):
    model_config = ConfigDict(extra="ignore")

    propertyID: FieldId
    useAlias: bool = Field(default=False, description="key the value by the property's alias, not its ID")


class ReturnedTag(Model):
    model_config = ConfigDict(extra="ignore")

    tagID: FieldId
    useAlias: bool = False


class ReturnStructure(Model):
    model_config = ConfigDict(extra="ignore")

    properties: list[ReturnedProperty] = Field(default_factory=list, max_length=MAX_RETURNED_FIELDS)
    tags: list[ReturnedTag] = Field(default_factory=list, max_length=MAX_RETURNED_FIELDS)


class Schedule(Model):
    model_config = ConfigDict(extra="ignore")

    dayofWeek: list[Annotated[int, Field(strict=True, ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="days to push on, 1 = Monday ... 7 = Sunday"
    )

    @field_validator("dayofWeek")
    @classmethod
    def _distinct_days(cls, days: list[int]) -> list[int]:
        return sorted(set(days))


class Webhook(Model):
    model_config = ConfigDict(extra="ignore")

    uri: str = Field(min_length=1, max_length=2048)
    authType: Literal["basic", "bearer"] | None = None
    authValue: str | None = Field(default=None, min_length=1, max_length=4096)

    @field_validator("uri")
    @classmethod
    def _http_url(cls, uri: str) -> str:
        from pollgate.webhooks.ssrf import UrlRefused, check_registered_url

        parts = urlsplit(uri.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http or https URL")
        try:
            return check_registered_url(uri.strip())
        except UrlRefused as refusal:  # refused by its form alone (README "Webhooks")
            raise ValueError(str(refusal)) from None

    @model_validator(mode="after")
    def _auth_complete(self) -> Webhook:
        if self.authValue is not None and self.authType is None:
            raise ValueError("authType (basic or bearer) is required when authValue is given")
        return self


class SubscriptionBody(Model):
    """One subscription as a client defines it (POST items and PUT bodies)."""

    model_config = ConfigDict(extra="ignore")

    subscriptionName: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    description: str = Field(default="", max_length=1024)
    owner: str | None = Field(
        default=None, max_length=128, description='"" = global (admins only); omitted = the caller'
    )
    outputType: Literal["application/json"] = "application/json"
    active: Literal["true", "false"] = "true"
    webhook: Webhook | None = None
    propertyReferences: list[PropertyReference] = Field(default_factory=list, max_length=MAX_FILTERS)
    tagReferences: list[TagReference] = Field(default_factory=list, max_length=MAX_FILTERS)
    suppressionReferences: list[SuppressionReference] = Field(default_factory=list, max_length=MAX_FILTERS)
    returnStructure: ReturnStructure | None = None
    schedule: Schedule | None = None

    @model_validator(mode="after")
    def _has_a_filter(self) -> SubscriptionBody:
        if not (self.propertyReferences or self.tagReferences or self.suppressionReferences):
            raise ValueError("at least one of propertyReferences, tagReferences or suppressionReferences is required")
        return self


class SubscriptionRefItem(Model):
    model_config = ConfigDict(extra="ignore")

    subscriptionRef: str = Field(min_length=1, max_length=64)


class SubscriptionRefs(
    RootModel[list[Annotated[str, StringConstraints(min_length=1, max_length=64)] | SubscriptionRefItem]]
):
    """The body of a bulk delete: subscriptionRefs, as strings or as {"subscriptionRef"} objects."""

    model_config = ConfigDict(defer_build=True)

    def refs(self) -> list[str]:
        return [item if isinstance(item, str) else item.subscriptionRef for item in self.root]


class ErrorBody(Model):
    """Every answer of the face other than success."""

    message: str
    status: int = Field(description="The HTTP status code again.")


# ------------------------------------------------------------------------------------------------ answers


class ApiToken(Model):
    apiToken: str = Field(description="HS256 token, valid 60 minutes: send it as Authorization: Bearer <token>")
    expires: int = Field(description="When the token expires, in epoch milliseconds")
    status: int = 200


class CreatedSubscription(Model):
    subscriptionRef: str
    subscriptionName: str
    signingSecret: str = Field(description="ours: the Standard Webhooks secret receivers verify pushes with")


class WebhookView(Model):
    """A subscription's webhook as listed: never its credential (authValue)."""

    uri: str
    authType: Literal["basic", "bearer"] | None = left_out_when_none()
    signingSecret: str | None = left_out_when_none(
        description="ours: shown only to whoever may change the subscription"
    )
    active: Literal["true", "false"] = Field(description='"false" once the receiver answered 410')


class SubscriptionView(Model):
    """A subscription as listed and as a replace answers it: its definition, owner resolved, and its status."""

    subscriptionRef: str
    subscriptionName: str
    description: str
    owner: str = Field(description='"" = global')
    outputType: Literal["application/json"]
    active: Literal["true", "false"]
    webhook: WebhookView | None = left_out_when_none()
    propertyReferences: list[PropertyReference]
    tagReferences: list[TagReference]
    suppressionReferences: list[SuppressionReference]
    returnStructure: ReturnStructure | None = left_out_when_none()
    schedule: Schedule | None = left_out_when_none()
    lastTriggered: str
    webHookStatus: str


class SubscriptionHeader(Model):
    """The `subscription` block of a results document (dates as Java's Date.toString() prints them)."""

    name: str
    description: str
    created: str
    createdBy: str
    updated: str
    updatedBy: str
    lastRefreshed: str
    owner: str


class ResultsDocument(Model):
    subscription: SubscriptionHeader
    count: int
    results: list[dict[str, str | int | float | bool | None]] = Field(
        description="One object per matching system, keyed as returnStructure says (property and tag IDs or aliases; "
        '"divider" between them when asked for)'
    )


class SubscriptionStatus(Model):
    lastTriggered: str
    webHookStatus: str


class ResentDelivery(Model):
    deliveryId: str
    resentFrom: str
    status: int = 200


# ------------------------------------------------------------------------------ webhook tools (ours, not the vendor's)


class RotatedSecret(Model):
    subscriptionRef: str
    signingSecret: str = Field(description="The new Standard Webhooks secret: every push from now on is signed with it")
    previousSecretValidUntil: str = Field(
        description="Until then (ISO 8601, 24 h) pushes carry a second signature made with the replaced secret"
    )
    status: int = 200


class TestEventSent(Model):
    """A sample push sent now, and recorded like any push attempt (the deliveries list shows it)."""

    deliveryId: str
    succeeded: bool
    statusCode: int | None = None
    error: str | None = None
    durationMs: int
    status: int = 200
