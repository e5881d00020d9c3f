"""The ThingSpace face over HTTP: its resolver, the checks every M2M call makes, and its error bodies."""

from __future__ import annotations

from typing import TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from pollgate.api import FaceError, FieldProblem, face_resolver
from pollgate.errors import Conflict, Expired, Invalid, NotFound, ServiceFault, Unauthenticated
from pollgate.idempotency import IdempotencyInProgress, IdempotencyKeyReused, IdempotencyRefused
from pollgate.thingspace import errors
from pollgate.thingspace.auth import Session, authenticate_session, verify_bearer
from pollgate.thingspace.models import ErrorBody

SESSION_HEADER = "vz-m2m-token"
BodyModel = TypeVar("BodyModel", bound=BaseModel)


class ThingSpaceError(FaceError):
    """Every answer of the face other than success, in the vendor's own body shapes (thingspace/errors.py)."""

    # The M2M services answer every refusal 400 (their errorCode says which); only the API gateway in front of
    # them answers 401, for the OAuth credential.
    statuses = {
        Unauthenticated: 400,
        errors.GatewayFault: 401,
        NotFound: 400,
        Expired: 400,
        Conflict: 400,
        Invalid: 400,
        ServiceFault: 500,
    }
    documented_body = ErrorBody
    documented_statuses = {
        400: "INPUT_INVALID.* or REQUEST_FAILED.* (errorCode); the token endpoint: an OAuth error",
        401: "The gateway's fault: OAuth credentials missing (900902), invalid or expired (900901)",
        404: "The gateway's fault 900906: no such resource",
        409: "A device action with this Idempotency-Key is still in progress; retry after Retry-After",
        413: "The body is larger than 1 MiB",
        422: "This Idempotency-Key was used with another body",
        431: "The request headers are larger than 16 KiB",
        500: "REQUEST_FAILED.UnexpectedError",
        503: "REQUEST_FAILED.ServiceUnavailable: AWS is busy or unavailable; nothing was accepted, retry",
    }

    @classmethod
    def vendor(cls, error: errors.ErrorCode, *arguments: object, status: int = 400) -> ThingSpaceError:
        return cls(status, error.body(*arguments))

    @classmethod
    def field(cls, field: str, problem: str) -> ThingSpaceError:
        head = field.split(".")[0] or "Body"
        code = errors.FIELD_INVALID.code.format(head[:1].upper() + head[1:])
        return cls(400, {"errorCode": code, "errorMessage": errors.FIELD_INVALID.template.format("", field, problem)})

    @classmethod
    def invalid_input(cls, problems: list[FieldProblem]) -> ThingSpaceError:
        first = problems[0] if problems else FieldProblem("", "invalid", "")
        if not first.field or first.kind in {"json_invalid", "model_attributes_type", "dict_type"}:
            return cls.vendor(errors.BODY_INVALID, first.problem)
        return cls.field(first.field, first.problem)

    @classmethod
    def route_not_found(cls, path: str) -> ThingSpaceError:
        return cls(404, errors.no_such_resource(path[:200]))

    @classmethod
    def internal(cls) -> ThingSpaceError:
        return cls.vendor(errors.UNEXPECTED, status=500)

    @classmethod
    def rejected(cls, status: int, problem: str) -> ThingSpaceError:
        """Refused before parsing (413, 431, 400) or AWS unavailable (503): the vendor's body shape either way."""
        return cls.vendor(
            errors.SERVICE_UNAVAILABLE if status == 503 else errors.REQUEST_REJECTED, problem, status=status
        )

    @classmethod
    def idempotency_body(cls, refusal: IdempotencyRefused) -> dict[str, str]:
        if isinstance(refusal, IdempotencyKeyReused):
            return errors.IDEMPOTENCY_KEY_REUSED.body()
        if isinstance(refusal, IdempotencyInProgress):
            return errors.IDEMPOTENCY_IN_PROGRESS.body()
        return errors.IDEMPOTENCY_KEY_INVALID.body()


# The routes' `responses=`: the face's errors and each route's success (its model is the return annotation's).
ANSWER = ThingSpaceError.responses()


def resolver() -> APIGatewayHttpResolver:
    return face_resolver(ThingSpaceError)


def require_json(app: APIGatewayHttpResolver) -> None:
    """A body must be declared JSON; a call without one (GET, DELETE, a bodiless POST) needs no Content-Type: the
    vendor's own SDKs send none there."""
    event = app.current_event
    if not event.body:
        return
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ThingSpaceError.vendor(errors.CONTENT_TYPE_INVALID)


def authenticate_client(app: APIGatewayHttpResolver) -> str:
    return verify_bearer(app.current_event.headers.get("authorization"))


def authenticate_m2m(app: APIGatewayHttpResolver) -> Session:
    """What every M2M call needs: a bearer token, a live session (its expiry slid), and a body (if any) declared
    JSON."""
    authenticate_client(app)
    session = authenticate_session(app.current_event.headers.get(SESSION_HEADER))
    require_json(app)
    return session


def session_token(app: APIGatewayHttpResolver) -> str | None:
    return app.current_event.headers.get(SESSION_HEADER)


def parse_body(app: APIGatewayHttpResolver, model: type[BodyModel]) -> BodyModel:
    """The JSON body as `model`, read after authentication: as at the vendor's gateway, a caller without valid
    credentials learns nothing about the body (Powertools' own Body() validation would run before the handler)."""
    try:
        return model.model_validate_json(app.current_event.decoded_body or "")
    except ValidationError as error:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in error.errors()]) from None
