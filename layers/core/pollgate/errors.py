"""What the domain refuses, by kind, with no HTTP status: the face's HTTP module answers each kind with the status
its vendor uses (pollgate.api.FaceError.statuses), in the face's own body.

A refusal carries its body in the face's words (a UAI message key rendered, a ThingSpace errorCode, a Densify
message); the kind says what went wrong, so the same "not found" is 404 for one face and 400 for another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A request the domain refuses. `body` is the face's JSON for it; a plain string is `{"message": ...}`."""

    def __init__(self, body: str | Mapping[str, Any]) -> None:
        self.body: dict[str, Any] = {"message": body} if isinstance(body, str) else dict(body)
        super().__init__(self.body)


class Unauthenticated(DomainError):
    """No credentials, or credentials that do not check out (a bad token, a wrong password, a locked user)."""


class NotFound(DomainError):
    """No such thing, or one the caller may not see: the same answer, so callers learn nothing of others' data."""


class Expired(DomainError):
    """It existed; its time is over (a polling ID past its retention)."""


class Conflict(DomainError):
    """The request clashes with what is stored (a name taken, a revoked key uploaded again, a concurrent change)."""


class Invalid(DomainError):
    """The request asks for something that cannot be done as asked (a bad value, a rule of the face)."""


class ServiceFault(DomainError):
    """The service cannot answer: misconfigured, or a race it gave up on. Not the client's fault."""


class TooLarge(Exception):
    """An answer larger than one response can carry (pollgate.api.LAMBDA_RESPONSE_LIMIT_BYTES), even compressed when
    the client accepts that: the domain says so in the face's words (a Densify on-demand failure)."""

    def __init__(self, size: int, limit: int, *, compressed: bool) -> None:
        self.size = size
        self.limit = limit
        self.compressed = compressed
        super().__init__(f"{size} bytes{' compressed' if compressed else ''}, over {limit}")
