"""The Updates and Insights face over HTTP: its resolver, authentication of requests, and its answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from pollgate.api import JSON, FaceError, FieldProblem, face_resolver
from pollgate.idempotency import IdempotencyInProgress, IdempotencyKeyReused, IdempotencyRefused
from pollgate.settings import get_settings
from pollgate.uai import messages
from pollgate.uai.auth import DeviceToken, require_admin, verify_device_token
from pollgate.uai.models import Outcome, PollingUrl


class UaiError(FaceError):
    """Every answer of the face other than success: `{"arguments", "key", "message"}` (uai/messages.py)."""

    documented_body = Outcome
    documented_statuses = {
        400: "The body or a field is invalid (key request.bodyInvalid, request.fieldInvalid), or the request is "
        "not UTF-8, not valid base64 or nested too deep (request.unreadable)",
        401: "No token, or a bad, expired or unverifiable one; the key names the cause (auth.*)",
        404: "No such polling ID, key or route",
        409: "A request with this Idempotency-Key is still in progress; retry after Retry-After",
        410: "The polling ID has expired",
        413: "The body is larger than 1 MiB (request.tooLarge)",
        415: "The body is sent as neither JSON nor a form (Content-Type; request.mediaTypeUnsupported)",
        422: "This Idempotency-Key was used with another body",
        431: "The request headers are larger than 16 KiB (request.headersTooLarge)",
        500: "Internal error",
        503: "AWS throttled or failed: nothing was accepted; retry after Retry-After (server.busy)",
    }

    @classmethod
    def invalid_input(cls, problems: list[FieldProblem]) -> UaiError:
        first = problems[0] if problems else FieldProblem("", "invalid", "")
        if not first.field or first.kind in {"json_invalid", "model_attributes_type", "dict_type"}:
            return cls(400, messages.BODY_INVALID.render(first.problem))
        return cls(400, messages.FIELD_INVALID.render(first.field, first.problem))

    @classmethod
    def rejected(cls, status: int, problem: str) -> UaiError:
        return cls(status, _REJECTIONS.get(status, messages.REQUEST_UNREADABLE).render(problem))

    @classmethod
    def route_not_found(cls, path: str) -> UaiError:
        return cls(404, messages.ROUTE_NOT_FOUND.render(path))

    @classmethod
    def internal(cls) -> UaiError:
        return cls(500, messages.INTERNAL_ERROR.render())

    @classmethod
    def idempotency_body(cls, refusal: IdempotencyRefused) -> dict[str, str]:
        if isinstance(refusal, IdempotencyKeyReused):
            return messages.IDEMPOTENCY_KEY_REUSED.render(refusal)
        if isinstance(refusal, IdempotencyInProgress):
            return messages.IDEMPOTENCY_IN_PROGRESS.render(refusal)
        return messages.IDEMPOTENCY_KEY_INVALID.render()


# A request refused before it was read, or not served (FaceError.rejected), by its status.
_REJECTIONS = {
    413: messages.REQUEST_TOO_LARGE,
    431: messages.HEADERS_TOO_LARGE,
    400: messages.REQUEST_UNREADABLE,
    415: messages.MEDIA_TYPE_UNSUPPORTED,
    503: messages.SERVICE_BUSY,
}

# The routes' `responses=`: the face's errors and each route's success (its model is the return annotation's).
_POLL_HEADERS = {
    "Location": {"description": "The url to poll", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before polling", "schema": {"type": "string"}},
}
ACCEPTED = UaiError.responses(
    {
        202: {
            "description": "Accepted: poll the url (also in Location) after Retry-After seconds",
            "headers": _POLL_HEADERS,
        }
    }
)
OUTCOME = UaiError.responses(description="Done: the outcome of the request")
ANSWER = UaiError.responses()
POLLED = UaiError.responses(
    {
        200: {"description": "Done: the outcome of the request", "content": {JSON: {"model": Outcome}}},
        202: {
            "description": "Still processing: poll the url again",
            "headers": _POLL_HEADERS,
            "content": {JSON: {"model": PollingUrl}},
        },
    }
)


def resolver() -> APIGatewayHttpResolver:
    return face_resolver(UaiError)


def authenticate_device(app: APIGatewayHttpResolver) -> DeviceToken:
    return verify_device_token(app.current_event.headers.get("authorization"))


def authenticate_admin(app: APIGatewayHttpResolver) -> None:
    require_admin(app.current_event.headers.get("authorization"))


def accepted(url: str) -> Response[PollingUrl]:
    """202 with the polling URL in the body and in Location, and how long to wait before polling."""
    return Response(status_code=202, content_type=JSON, body=PollingUrl(url=url), headers=_polling(url))


def polled(url: str, outcome: Mapping[str, Any] | None) -> Response[Outcome | PollingUrl]:
    """What a poll answers: 202 as `accepted` while the request is pending, 200 with its outcome once done."""
    if outcome is None:
        return Response(status_code=202, content_type=JSON, body=PollingUrl(url=url), headers=_polling(url))
    return Response(status_code=200, content_type=JSON, body=Outcome.model_validate(outcome))


def _polling(url: str) -> dict[str, str]:
    return {"Location": url, "Retry-After": str(get_settings().retry_after_seconds)}
