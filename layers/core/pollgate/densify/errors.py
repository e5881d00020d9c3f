"""Every answer of the Densify face other than success is `{"message", "status"}` with the HTTP code."""

from __future__ import annotations

from typing import Any

UNAUTHORIZED = "Unauthorized"


class DensifyError(Exception):
    """An answer of the face other than success, in its own body shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def body(self) -> dict[str, Any]:
        return {"message": self.message, "status": self.status}


def unauthorized() -> DensifyError:
    return DensifyError(401, UNAUTHORIZED)


def subscription_not_found(ref: str) -> DensifyError:
    # The same answer for a subscription that does not exist and one the caller may not see (never 403).
    return DensifyError(404, f"Subscription {ref} was not found.")
