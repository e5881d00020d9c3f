"""What every face's functions share: a Powertools HTTP resolver whose every error speaks the face's own shape.

A face supplies one `FaceErrors`; its functions get a resolver from `face_resolver` and stay a few lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from pollgate.idempotency import IdempotencyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused

logger = Logger(child=True)

JSON = "application/json"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body), headers=headers or {})


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input, with the field's dotted name (empty when the body as a whole is wrong)."""

    field: str
    problem: str
    kind: str


def field_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    problems = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        source = location[0] if location else "body"
        name = ".".join(location[1:]) if source == "body" else ".".join(location[1:]) or source
        problems.append(FieldProblem(name, str(error.get("msg", "invalid")).removeprefix("Value error, "),
                                     str(error.get("type", ""))))
    return problems


@dataclass(frozen=True)
class FaceErrors:
    """How one face writes its errors."""

    domain_error: type[Exception]
    domain_response: Callable[[Any], Response[Any]]
    invalid_input: Callable[[list[FieldProblem]], Response[Any]]
    not_found: Callable[[str], Response[Any]]
    internal_error: Callable[[], Response[Any]]
    # Answers for pollgate.idempotency's refusals (invalid key, key reused with another body, still in progress).
    idempotency_error: Callable[[Exception], Response[Any]] | None = None


def face_resolver(errors: FaceErrors) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(errors.domain_error)  # type: ignore[untyped-decorator]
    def _domain(error: Exception) -> Response[Any]:
        return errors.domain_response(error)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(error: RequestValidationError) -> Response[Any]:
        return errors.invalid_input(field_problems(error.errors()))

    if errors.idempotency_error is not None:
        for refusal in (IdempotencyKeyInvalid, IdempotencyKeyReused, IdempotencyInProgress):
            app.exception_handler(refusal)(errors.idempotency_error)

    @app.not_found
    def _not_found(_: Exception) -> Response[Any]:
        return errors.not_found(app.current_event.path)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _internal(error: Exception) -> Response[Any]:
        logger.exception("unhandled error", extra={"error": type(error).__name__})
        return errors.internal_error()

    return app
