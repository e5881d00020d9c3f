"""The documented message keys of the Updates and Insights face (docs/uai.md, "UAI message keys").

Every answer with a body other than `{"url"}` is `{"arguments", "key", "message"}`: `key` is stable and is what
clients match on, `message` is English, `arguments` is the values substituted into it, joined by ", " (the
vendor types the field as a string).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageKey:
    key: str
    template: str

    def render(self, *arguments: object) -> dict[str, str]:
        values = [str(a) for a in arguments]
        return {"arguments": ", ".join(values), "key": self.key, "message": self.template.format(*values)}


STATUS_LOGGED = MessageKey("statusLog.logged", "Status {0} of update {1} was logged for device {2}.")
STATUS_DUPLICATE = MessageKey("statusLog.duplicate", "Status {0} of update {1} had already been logged for device {2}.")
STATUS_FAILED = MessageKey("statusLog.failed", "The status could not be logged: {0}.")
KEY_REVOKED = MessageKey("statusLog.keyRevoked", "The status was not logged: its signing key {0} has been revoked.")

FIELD_INVALID = MessageKey("request.fieldInvalid", "Field {0} is invalid: {1}.")
BODY_INVALID = MessageKey("request.bodyInvalid", "The request body must be a JSON object: {0}.")
# Requests refused before they are read (pollgate.api.request_problem), and requests not served: each its own key.
REQUEST_TOO_LARGE = MessageKey("request.tooLarge", "The request was refused unread: {0}.")
HEADERS_TOO_LARGE = MessageKey("request.headersTooLarge", "The request was refused unread: {0}.")
REQUEST_UNREADABLE = MessageKey("request.unreadable", "The request could not be read: {0}.")
MEDIA_TYPE_UNSUPPORTED = MessageKey("request.mediaTypeUnsupported", "The request body could not be read: {0}.")
SERVICE_BUSY = MessageKey("server.busy", "Nothing was accepted: {0}.")

TOKEN_MISSING = MessageKey("auth.tokenMissing", "No JWT was found in the Authorization header.")
TOKEN_MALFORMED = MessageKey("auth.tokenMalformed", "The JWT is malformed.")
TOKEN_EXPIRED = MessageKey("auth.tokenExpired", "The JWT has expired.")
TOKEN_NO_EXP = MessageKey("auth.expMissing", "The JWT has no exp claim.")
TOKEN_EXP_INVALID = MessageKey("auth.expInvalid", "The JWT's exp claim must be a finite number of seconds.")
TOKEN_LIFETIME_TOO_LONG = MessageKey(
    "auth.lifetimeTooLong", "The JWT expires more than {0} seconds from now; issue shorter-lived tokens."
)
TOKEN_NOT_YET_VALID = MessageKey("auth.notYetValid", "The JWT is not valid yet (nbf is in the future).")
ALGORITHM_REJECTED = MessageKey("auth.algorithmRejected", "The JWT must be signed with RS256, not {0}.")
SIGNATURE_INVALID = MessageKey("auth.signatureInvalid", "The JWT signature is invalid.")
PUBLIC_KEY_MISSING = MessageKey(
    "auth.publicKeyMissing",
    "No public key could be identified: upload one with PUT /flexnet/operations/api/updates/update-authorization-key.",
)
ADMIN_REQUIRED = MessageKey("auth.adminRequired", "This call needs the admin credential as a Bearer token.")

POLLING_NOT_FOUND = MessageKey("polling.notFound", "No request has polling ID {0}.")
POLLING_EXPIRED = MessageKey("polling.expired", "The result for polling ID {0} has expired.")
POLLING_ID_MISSING = MessageKey("polling.idMissing", "Give the polling ID in the path or as ?pollingId=.")

KEY_INVALID = MessageKey(
    "key.invalid", "The public key must be a base64 DER RSA public key of at least 2048 bits: {0}."
)
KEY_REVOKED_REUPLOAD = MessageKey("key.revoked", "Key {0} was revoked and cannot be uploaded again.")
KEY_NOT_FOUND = MessageKey("key.notFound", "No key has ID {0}.")
KEY_UPLOADED = MessageKey("key.uploaded", "Key {0} is active.")
KEY_REVOKED_NOW = MessageKey("key.revokedNow", "Key {0} is revoked.")

IDEMPOTENCY_KEY_INVALID = MessageKey(
    "idempotency.keyInvalid", "The Idempotency-Key header must be 1-255 printable ASCII characters."
)
IDEMPOTENCY_KEY_REUSED = MessageKey(
    "idempotency.keyReused", "Idempotency-Key {0} was already used with a different request body."
)
IDEMPOTENCY_IN_PROGRESS = MessageKey(
    "idempotency.inProgress", "A request with Idempotency-Key {0} is still being processed; retry shortly."
)

ROUTE_NOT_FOUND = MessageKey("request.notFound", "No such resource: {0}.")
INTERNAL_ERROR = MessageKey("server.error", "The request could not be processed; try again.")
