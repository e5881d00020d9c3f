"""The ThingSpace face's error answers (docs/thingspace.md, "ThingSpace error codes"); thingspace/http.py says which
status answers which kind of refusal.

Two shapes, as the vendor answers them:
- the M2M services: `400 {"errorCode": "<CLASS>.<Specific>", "errorMessage": "..."}`; clients match the code,
  never the message (the vendor prefixes a service name, e.g. `UnifiedWebService.`, and tells clients to
  ignore it: we leave it out);
- the API gateway in front of them: `401 {"fault": {"code", "message", "description"}}` for a missing (900902)
  or bad/expired (900901) OAuth credential, 900906 for a path it does not serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pollgate.errors import Invalid, Unauthenticated


@dataclass(frozen=True)
class ErrorCode:
    code: str
    template: str

    def body(self, *arguments: object) -> dict[str, str]:
        return {"errorCode": self.code, "errorMessage": self.template.format(*arguments)}


CONTENT_TYPE_INVALID = ErrorCode("INPUT_INVALID.ContentType.Invalid", "Content-Type must be application/json.")
BODY_INVALID = ErrorCode("INPUT_INVALID.Body.Invalid", "The request body must be a JSON object: {0}.")
FIELD_INVALID = ErrorCode("INPUT_INVALID.{0}.Invalid", "Field {1} is invalid: {2}.")  # {0}: the field, capitalised
SESSION_TOKEN_INVALID = ErrorCode(
    "INPUT_INVALID.SessionToken.Invalid", "The VZ-M2M-Token header is missing or is not a session token."
)
SESSION_TOKEN_EXPIRED = ErrorCode("REQUEST_FAILED.SessionToken.Expired", "The session token has expired; log in again.")
LOGIN_FAILED = ErrorCode("REQUEST_FAILED.UserNotAuthenticated", "The username or password is not correct.")
USER_LOCKED = ErrorCode(
    "REQUEST_FAILED.UserLocked", "The user is locked after repeated failed logins; ask the account administrator."
)
ACCOUNT_NOT_FOUND = ErrorCode("REQUEST_FAILED.AccountNotFound", "Account {0} was not found for this user.")
REQUEST_NOT_FOUND = ErrorCode("REQUEST_FAILED.RequestNotFound", "Request {0} was not found for account {1}.")
MULTIPLE_DEVICES = ErrorCode(
    "REQUEST_FAILED.MultipleDevicesRequest",
    "Request {0} operated on {1} devices; status is only kept for single-device requests.",
)
SERVICE_NAME_INVALID = ErrorCode("INPUT_INVALID.ServiceName.Invalid", "Unknown callback service name {0}.")
CALLBACK_URL_INVALID = ErrorCode("INPUT_INVALID.Url.Invalid", "The callback URL must be an absolute http(s) URL.")
CALLBACK_NOT_FOUND = ErrorCode("REQUEST_FAILED.CallbackNotFound", "No {0} callback is registered for account {1}.")
DELIVERY_NOT_FOUND = ErrorCode("REQUEST_FAILED.DeliveryNotFound", "Delivery {0} was not found for listener {1}.")
DELIVERY_NOT_RESENDABLE = ErrorCode(
    "REQUEST_FAILED.DeliveryNotResendable",
    "Delivery {0} cannot be re-sent: {1}; only callbacks that failed for good can.",
)
RECOVERY_NOT_FOUND = ErrorCode("REQUEST_FAILED.RecoveryNotFound", "Recovery {0} was not found for listener {1}.")
IDEMPOTENCY_KEY_REUSED = ErrorCode(
    "INPUT_INVALID.IdempotencyKey.Reused", "This Idempotency-Key was used with another request body."
)
IDEMPOTENCY_IN_PROGRESS = ErrorCode(
    "REQUEST_FAILED.IdempotencyKey.InProgress",
    "A request with this Idempotency-Key is still in progress; retry shortly.",
)
IDEMPOTENCY_KEY_INVALID = ErrorCode(
    "INPUT_INVALID.IdempotencyKey.Invalid", "Idempotency-Key must be 1-255 printable ASCII characters."
)
REQUEST_REJECTED = ErrorCode("INPUT_INVALID.Request.Invalid", "The request was refused: {0}.")
SERVICE_UNAVAILABLE = ErrorCode("REQUEST_FAILED.ServiceUnavailable", "The service is busy: {0}.")
UNEXPECTED = ErrorCode("REQUEST_FAILED.UnexpectedError", "The request could not be processed; try again.")

# Device-level outcomes, carried in the CarrierService callback's faultResponse (and the HTTP backend's answers).
DEVICE_NOT_FOUND = ErrorCode("REQUEST_FAILED.DeviceNotFound", "No device in account {0} has ids {1}.")
DEVICE_ALREADY_ACTIVE = ErrorCode("REQUEST_FAILED.DeviceAlreadyActive", "The device is already active.")
DEVICE_NOT_ACTIVE = ErrorCode("REQUEST_FAILED.DeviceNotActive", "The device is {0}, not active.")
DEVICE_ALREADY_SUSPENDED = ErrorCode("REQUEST_FAILED.DeviceAlreadySuspended", "The device is already suspended.")
DEVICE_NOT_SUSPENDED = ErrorCode("REQUEST_FAILED.DeviceNotSuspended", "The device is {0}, not suspended.")
DEVICE_SUSPENDED = ErrorCode("REQUEST_FAILED.DeviceSuspended", "The device is suspended; restore it instead.")


class GatewayFault(Unauthenticated):
    """The API gateway's refusal of the OAuth credential, in front of the services (its own body, and a 401 where
    the services answer every refusal 400)."""


def gateway_fault_body(code: str, message: str, description: str) -> dict[str, Any]:
    return {"fault": {"code": code, "message": message, "description": description}}


def missing_credentials(expected: str = "Bearer") -> GatewayFault:
    return GatewayFault(
        gateway_fault_body(
            "900902",
            "Missing Credentials",
            f"Required OAuth credentials not provided. Make sure your API invocation call has a "
            f'header: "Authorization: {expected} ACCESS_TOKEN"',
        )
    )


def invalid_credentials() -> GatewayFault:
    return GatewayFault(
        gateway_fault_body(
            "900901", "Invalid Credentials", "Access failure for API. Make sure you have given the correct access token"
        )
    )


def no_such_resource(path: str) -> dict[str, Any]:
    """The gateway's answer (404) to a path it does not serve."""
    return gateway_fault_body(
        "900906",
        "No matching resource found in the API for the given request",
        f"Access failure for API: {path}. Check the API documentation.",
    )


def oauth_error(error: str, description: str) -> Invalid:
    """The token endpoint's refusal of a grant (RFC 6749 section 5.2)."""
    return Invalid({"error": error, "error_description": description})
