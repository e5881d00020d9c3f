"""What the webhook routes of every face answer alike over HTTP; their errors stay in each face's own shape.

A recovery is an operation: submitting it and polling it answer the same view, 202 (its url as Location, and
Retry-After) while it runs, 200 once it has finished. The routes themselves stay in each face's function: their
paths, their authentication and how they read the body are the face's (and its OpenAPI document's).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from pollgate.api import JSON, FaceError
from pollgate.settings import get_settings
from pollgate.webhooks.models import RecoveryView

POLLED_ANSWERS = {
    200: {"description": "Finished: how many deliveries were re-sent"},
    202: {"description": "Accepted or still running: poll the url (Location) after Retry-After seconds"},
}


def polled_responses(errors: type[FaceError]) -> dict[int, Any]:
    """A recovery route's `responses=`: the face's errors, then the two answers of a polled operation."""
    return errors.responses(POLLED_ANSWERS)


def polled(view: RecoveryView) -> Response[RecoveryView]:
    """The recovery as the client polls it: 202 with where and when to poll again while it runs, else 200."""
    if view.status != "Pending":
        return Response(status_code=200, content_type=JSON, body=view)
    return Response(
        status_code=202,
        content_type=JSON,
        body=view,
        headers={"Location": view.url, "Retry-After": str(get_settings().retry_after_seconds)},
    )
