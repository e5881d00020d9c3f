"""The refusals of the Densify face every module shares. Each is answered `{"message", "status"}` with the HTTP
code (densify/http.py says which code answers which kind)."""

from __future__ import annotations

from pollgate.errors import NotFound, TooLarge, Unauthenticated

UNAUTHORIZED = "Unauthorized"


def unauthorized() -> Unauthenticated:
    return Unauthenticated(UNAUTHORIZED)


def subscription_not_found(ref: str) -> NotFound:
    # The same answer for a subscription that does not exist and one the caller may not see (never 403).
    return NotFound(f"Subscription {ref} was not found.")


def too_large_message(error: TooLarge, subject: str = "The answer") -> str:
    """Why an answer cannot be returned: its size, the limit, and whether compression would help."""
    if error.compressed:
        return f"{subject} is {error.size} bytes compressed, more than the {error.limit} bytes one response can carry."
    return (
        f"{subject} is {error.size} bytes, more than the {error.limit} bytes one response can carry: send "
        f"Accept-Encoding: gzip to have it compressed."
    )
