"""The ThingSpace face over HTTP: its resolver, the checks every M2M call makes, and its error bodies."""

from __future__ import annotations

from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from pollgate.api import FaceErrors, FieldProblem, face_resolver, json_response
from pollgate.idempotency import IdempotencyInProgress, IdempotencyKeyReused, IdempotentRequest
from pollgate.thingspace import errors
from pollgate.thingspace.auth import Session, authenticate_session, verify_bearer
from pollgate.thingspace.errors import ThingSpaceError
from pollgate.thingspace.models import ErrorBody

SESSION_HEADER = "vz-m2m-token"
BodyModel = TypeVar("BodyModel", bound=BaseModel)


def _domain(error: Any) -> Response[Any]:
    return json_response(error.status, error.body)


def _invalid(problems: list[FieldProblem]) -> Response[Any]:
    first = problems[0] if problems else FieldProblem("", "invalid", "")
    if not first.field or first.kind in {"json_invalid", "model_attributes_type", "dict_type"}:
        return json_response(400, errors.BODY_INVALID.body(first.problem))
    failure = ThingSpaceError.field(first.field, first.problem)
    return json_response(failure.status, failure.body)


def _not_found(path: str) -> Response[Any]:
    fault = errors.no_such_resource(path[:200])
    return json_response(fault.status, fault.body)


def _idempotency(error: Exception) -> Response[Any]:
    if isinstance(error, IdempotencyKeyReused):
        return json_response(422, errors.IDEMPOTENCY_KEY_REUSED.body())
    if isinstance(error, IdempotencyInProgress):
        return json_response(409, errors.IDEMPOTENCY_IN_PROGRESS.body(), {"Retry-After": "1"})
    return json_response(400, errors.IDEMPOTENCY_KEY_INVALID.body())


def _rejected(status: int, problem: str) -> Response[Any]:
    """Refused before parsing (413, 431, 400) or AWS unavailable (503): the vendor's body shape either way."""
    error = errors.SERVICE_UNAVAILABLE if status == 503 else errors.REQUEST_REJECTED
    return json_response(status, error.body(problem))


ERRORS = FaceErrors(
    domain_error=ThingSpaceError,
    domain_response=_domain,
    invalid_input=_invalid,
    not_found=_not_found,
    internal_error=lambda: json_response(500, errors.UNEXPECTED.body()),
    idempotency_error=_idempotency,
    request_rejected=_rejected,
    error_body=ErrorBody,
    error_statuses={
        400: "INPUT_INVALID.* or REQUEST_FAILED.* (errorCode); the token endpoint: an OAuth error",
        401: "The gateway's fault: OAuth credentials missing (900902), invalid or expired (900901)",
        404: "The gateway's fault 900906: no such resource",
        409: "A device action with this Idempotency-Key is still in progress; retry after Retry-After",
        413: "The body is larger than 1 MiB",
        422: "This Idempotency-Key was used with another body",
        431: "The request headers are larger than 16 KiB",
        500: "REQUEST_FAILED.UnexpectedError",
        503: "REQUEST_FAILED.ServiceUnavailable: AWS is busy or unavailable; nothing was accepted, retry",
    },
)


def resolver() -> APIGatewayHttpResolver:
    return face_resolver(ERRORS)


def require_json(app: APIGatewayHttpResolver) -> None:
    content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ThingSpaceError.vendor(errors.CONTENT_TYPE_INVALID)


def authenticate_client(app: APIGatewayHttpResolver) -> str:
    return verify_bearer(app.current_event.headers.get("authorization"))


def authenticate_m2m(app: APIGatewayHttpResolver) -> Session:
    """What every M2M call needs: a bearer token, a live session (its expiry slid), and a JSON content type."""
    authenticate_client(app)
    session = authenticate_session(app.current_event.headers.get(SESSION_HEADER))
    require_json(app)
    return session


def idempotent_request(app: APIGatewayHttpResolver) -> IdempotentRequest | None:
    key = app.current_event.headers.get("idempotency-key")
    return None if key is None else IdempotentRequest(key, app.lambda_context)


def session_token(app: APIGatewayHttpResolver) -> str | None:
    return app.current_event.headers.get(SESSION_HEADER)


def parse_body(app: APIGatewayHttpResolver, model: type[BodyModel]) -> BodyModel:
    """The JSON body as `model`, read after authentication: as at the vendor's gateway, a caller without valid
    credentials learns nothing about the body (Powertools' own Body() validation would run before the handler)."""
    try:
        return model.model_validate_json(app.current_event.decoded_body or "")
    except ValidationError as error:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in error.errors()]) from None
