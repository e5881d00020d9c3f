"""The Densify face over HTTP: its resolver, whose every error is `{"message", "status"}`, and its callers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from pollgate.api import FaceError, FieldProblem, face_resolver
from pollgate.densify.auth import Caller, verify_token
from pollgate.densify.errors import too_large_message
from pollgate.densify.models import PLATFORMS, ErrorBody
from pollgate.errors import Conflict, DomainError, TooLarge

UNSUPPORTED_MEDIA_TYPE = "Unsupported Media Type: the body must be JSON with Content-Type: application/json."
# What pydantic reports when the body could not be parsed as JSON at all (a 415, not a 400).
_NOT_JSON = {"json_invalid"}


class DensifyError(FaceError):
    """Every answer of the face other than success: `{"message", "status"}`, the HTTP code again in the body."""

    # The vendor answers a clash (a name taken, a concurrent change) 400 like any other refused request.
    statuses = {**FaceError.statuses, Conflict: 400}
    documented_body = ErrorBody
    documented_statuses = {
        400: "Invalid request, a field named in the message; or an on-demand result over its limit, or larger than "
        "one response can carry (6 MiB; compressed when the client accepts gzip)",
        401: "Unauthorized: no token, a bad or expired one, or a failed login",
        404: "No such subscription (or one the caller may not see), platform type or route",
        413: "The body is larger than 1 MiB",
        415: "The body is not JSON, or not declared as application/json",
        431: "The request headers are larger than 16 KiB",
        500: "Internal server error",
    }

    @classmethod
    def saying(cls, status: int, message: str) -> DensifyError:
        return cls(status, {"message": message, "status": status})

    @classmethod
    def refusing(cls, error: DomainError) -> DensifyError:
        return cls.saying(cls.status_of(error), str(error.body["message"]))

    @classmethod
    def invalid_input(cls, problems: list[FieldProblem]) -> DensifyError:
        first = problems[0] if problems else FieldProblem("", "invalid", "")
        if first.kind in _NOT_JSON:
            return cls.saying(415, UNSUPPORTED_MEDIA_TYPE)
        where = f"{first.field}: " if first.field else ""
        return cls.saying(400, f"Invalid request: {where}{first.problem}.")

    @classmethod
    def invalid_request(cls, event: APIGatewayProxyEventV2, problems: list[FieldProblem]) -> DensifyError:
        # A body sent as something other than JSON is a 415 before it is anything else.
        if event.http_method in {"POST", "PUT", "DELETE"} and event.body and not _declares_json(event):
            return cls.unsupported_media_type()
        return cls.invalid_input(problems)

    @classmethod
    def route_not_found(cls, path: str) -> DensifyError:
        return cls.saying(404, f"No such resource: {path}.")

    @classmethod
    def internal(cls) -> DensifyError:
        return cls.saying(500, "Internal server error.")

    @classmethod
    def rejected(cls, status: int, problem: str) -> DensifyError:
        return cls.saying(status, f"Request refused: {problem}.")

    @classmethod
    def too_large(cls, error: TooLarge) -> DensifyError:
        return cls.saying(400, too_large_message(error))

    @classmethod
    def unsupported_media_type(cls) -> DensifyError:
        return cls.saying(415, UNSUPPORTED_MEDIA_TYPE)


# The routes' `responses=`: the face's errors and each route's success (its model is the return annotation's).
ANSWER = DensifyError.responses()
DELETED = DensifyError.responses({204: {"description": "Deleted", "content": {}}})  # no body at all


def resolver() -> APIGatewayHttpResolver:
    return face_resolver(DensifyError)


def _declares_json(event: APIGatewayProxyEventV2) -> bool:
    media_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    # No Content-Type at all is read as JSON (as API Gateway's own tooling does); any other type is refused.
    return media_type in {"", "application/json"} or media_type.endswith("+json")


def require_json(app: APIGatewayHttpResolver) -> None:
    """A body that parsed but was not declared as JSON is refused all the same (415)."""
    if not _declares_json(app.current_event):
        raise DensifyError.unsupported_media_type()


def authenticate(app: APIGatewayHttpResolver) -> Caller:
    return verify_token(app.current_event.headers.get("authorization"))


def platform_of(platform: str | None) -> str:
    """The path's platform type; a path without one is cloud. Any other value names no resource."""
    if platform is None:
        return "cloud"
    if platform not in PLATFORMS:
        raise DensifyError.saying(404, f"No such platform type: {platform}.")
    return platform


def query(app: APIGatewayHttpResolver, name: str) -> str | None:
    return app.current_event.get_query_string_value(name)
