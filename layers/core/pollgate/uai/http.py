"""The Updates and Insights face over HTTP: its resolver, authentication of requests, and its answers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from pollgate.api import FaceError, FieldProblem, documented_answer, face_resolver, json_response
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
             "not UTF-8 or nested too deep",
        401: "No token, or a bad, expired or unverifiable one; the key names the cause (auth.*)",
        404: "No such polling ID, key or route",
        409: "A request with this Idempotency-Key is still in progress; retry after Retry-After",
        410: "The polling ID has expired",
        413: "The body is larger than 1 MiB",
        415: "The body is sent as neither JSON nor a form (Content-Type)",
        422: "This Idempotency-Key was used with another body",
        431: "The request headers are larger than 16 KiB",
        500: "Internal error",
    }

    @classmethod
    def invalid_input(cls, problems: list[FieldProblem]) -> UaiError:
        first = problems[0] if problems else FieldProblem("", "invalid", "")
        if not first.field or first.kind in {"json_invalid", "model_attributes_type", "dict_type"}:
            return cls(400, messages.BODY_INVALID.render(first.problem))
        return cls(400, messages.FIELD_INVALID.render(first.field, first.problem))

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


# The documented answers of the asynchronous routes (route decorators' `responses=`).
ACCEPTED: dict[int, Any] = {202: {
    "description": "Accepted: poll the url (also in Location) after Retry-After seconds",
    "headers": {"Location": {"description": "The url to poll", "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds to wait before polling", "schema": {"type": "string"}}},
    "content": {"application/json": {"model": PollingUrl}}}}
OUTCOME = documented_answer(Outcome, "Done: the outcome of the request")
POLLED: dict[int, Any] = {**OUTCOME, 202: {**ACCEPTED[202], "description": "Still processing: poll the url again"}}


def resolver() -> APIGatewayHttpResolver:
    return face_resolver(UaiError)


def authenticate_device(app: APIGatewayHttpResolver) -> DeviceToken:
    return verify_device_token(app.current_event.headers.get("authorization"))


def authenticate_admin(app: APIGatewayHttpResolver) -> None:
    require_admin(app.current_event.headers.get("authorization"))


def accepted(url: str, status: int = 202) -> Response[Any]:
    """202 with the polling URL in the body and in Location, and how long to wait before polling."""
    retry_after = str(get_settings().retry_after_seconds)
    return json_response(status, {"url": url}, {"Location": url, "Retry-After": retry_after})
