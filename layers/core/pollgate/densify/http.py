"""The Densify face over HTTP: its resolver, whose every error is `{"message", "status"}`, and its callers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from pollgate.api import FaceErrors, FieldProblem, face_resolver, field_problems, json_response
from pollgate.densify.auth import Caller, verify_token
from pollgate.densify.errors import DensifyError
from pollgate.densify.models import PLATFORMS, ErrorBody

UNSUPPORTED_MEDIA_TYPE = "Unsupported Media Type: the body must be JSON with Content-Type: application/json."
# What pydantic reports when the body could not be parsed as JSON at all (a 415, not a 400).
_NOT_JSON = {"json_invalid"}


def error(status: int, message: str) -> Response[Any]:
    return json_response(status, {"message": message, "status": status})


def _domain(failure: Any) -> Response[Any]:
    return json_response(failure.status, failure.body)


def _invalid(problems: list[FieldProblem]) -> Response[Any]:
    first = problems[0] if problems else FieldProblem("", "invalid", "")
    if first.kind in _NOT_JSON:
        return error(415, UNSUPPORTED_MEDIA_TYPE)
    where = f"{first.field}: " if first.field else ""
    return error(400, f"Invalid request: {where}{first.problem}.")


ERRORS = FaceErrors(
    domain_error=DensifyError,
    domain_response=_domain,
    invalid_input=_invalid,
    not_found=lambda path: error(404, f"No such resource: {path}."),
    internal_error=lambda: error(500, "Internal server error."),
    request_rejected=lambda status, problem: error(status, f"Request refused: {problem}."),
    error_body=ErrorBody,
    error_statuses={
        400: "Invalid request, a field named in the message; or an on-demand result over its limit",
        401: "Unauthorized: no token, a bad or expired one, or a failed login",
        404: "No such subscription (or one the caller may not see), platform type or route",
        413: "The body is larger than 1 MiB",
        415: "The body is not JSON, or not declared as application/json",
        431: "The request headers are larger than 16 KiB",
        500: "Internal server error",
    },
)

# The documented answer of the deletes (route decorators' `responses=`): no body at all.
DELETED: dict[int, Any] = {204: {"description": "Deleted", "content": {}}}


def resolver() -> APIGatewayHttpResolver:
    app = face_resolver(ERRORS)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid_request(failure: RequestValidationError) -> Response[Any]:
        # A body sent as something other than JSON is a 415 before it is anything else.
        if app.current_event.http_method in {"POST", "PUT", "DELETE"} and app.current_event.body \
                and not _declares_json(app):
            return error(415, UNSUPPORTED_MEDIA_TYPE)
        return _invalid(field_problems(failure.errors()))

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _unsupported(_: RequestUnsupportedContentType) -> Response[Any]:
        return error(415, UNSUPPORTED_MEDIA_TYPE)

    return app


def _declares_json(app: APIGatewayHttpResolver) -> bool:
    media_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    # No Content-Type at all is read as JSON (as API Gateway's own tooling does); any other type is refused.
    return media_type in {"", "application/json"} or media_type.endswith("+json")


def require_json(app: APIGatewayHttpResolver) -> None:
    """A body that parsed but was not declared as JSON is refused all the same (415)."""
    if not _declares_json(app):
        raise DensifyError(415, UNSUPPORTED_MEDIA_TYPE)


def authenticate(app: APIGatewayHttpResolver) -> Caller:
    return verify_token(app.current_event.headers.get("authorization"))


def platform_of(platform: str | None) -> str:
    """The path's platform type; a path without one is cloud. Any other value names no resource."""
    if platform is None:
        return "cloud"
    if platform not in PLATFORMS:
        raise DensifyError(404, f"No such platform type: {platform}.")
    return platform


def query(app: APIGatewayHttpResolver, name: str) -> str | None:
    return app.current_event.get_query_string_value(name)
