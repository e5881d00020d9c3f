"""What every face's functions share: a Powertools HTTP resolver whose every error speaks the face's own shape.

A face derives one error class from `FaceError` (its body shape, the status of each kind of refusal); its
functions get a resolver from `face_resolver(ThatClass)` and stay a few lines.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.encoders import jsonable_encoder
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel

from pollgate.errors import Conflict, DomainError, Expired, Invalid, NotFound, ServiceFault, TooLarge, Unauthenticated
from pollgate.idempotency import HEADER as IDEMPOTENCY_HEADER
from pollgate.idempotency import (
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    IdempotencyRefused,
    IdempotentRequest,
)
from pollgate.store import BatchIncomplete

logger = Logger(child=True)

JSON = "application/json"

# Beyond these a request is refused before any parsing: a clear 4xx in the face's shape, never a 5xx.
MAX_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_JSON_DEPTH = 32
UNSUPPORTED_CONTENT_TYPE = "the body must be JSON, sent with Content-Type: application/json"

# A synchronous Lambda invocation returns at most 6 MiB: the response object as the runtime writes it, the body a JSON
# string inside it (escaped, so each quote of a JSON body counts twice). A larger one reaches the client as API
# Gateway's own error, in no face's shape; the resolver answers the face's error instead (FaceError.too_large).
LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024
# What a route that measures its answer before the resolver finishes it leaves for the rest of the response.
ANSWER_HEADROOM_BYTES = 1024
# gzip's own default. 8.5 MB of Densify results took 0.04 s here to 365 kB; level 9 (Powertools' compress) 0.26 s
# for 9 % less.
GZIP_LEVEL = 6
_GZIPPED = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body), headers=headers or {})


def response_bytes(response: Mapping[str, Any]) -> int:
    """A Lambda response's size as the runtime sends it, at most: json.dumps escapes all non-ASCII (so one character
    is one byte) and spaces its separators, which the runtime's encoder does not."""
    return len(json.dumps(response))


def accepts_gzip(headers: Mapping[str, Any]) -> bool:
    """Does the request's Accept-Encoding admit gzip: named with a q above 0, or else covered by `*`?"""
    accepted = next((str(value) for name, value in headers.items() if name.lower() == "accept-encoding"), "")
    qualities: dict[str, float] = {}
    for entry in accepted.split(","):
        coding, _, parameters = entry.partition(";")
        quality = parameters.strip().lower()
        try:
            qualities[coding.strip().lower()] = float(quality.removeprefix("q=")) if quality else 1.0
        except ValueError:
            qualities[coding.strip().lower()] = 0.0
    named = qualities.get("gzip", qualities.get("x-gzip"))
    return (named if named is not None else qualities.get("*", 0.0)) > 0


def fit_body(body: str, *, gzip_accepted: bool, rest_bytes: int) -> str | bytes:
    """The body as Lambda can return it within a response whose other parts take `rest_bytes`: itself when it fits,
    else gzipped when the client accepts gzip (bytes, which travel base64-encoded). Raises TooLarge when neither
    fits."""
    size = rest_bytes + len(json.dumps(body))
    if size <= LAMBDA_RESPONSE_LIMIT_BYTES:
        return body
    if not gzip_accepted:
        raise TooLarge(size, LAMBDA_RESPONSE_LIMIT_BYTES, compressed=False)
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)  # | 16: a gzip stream, not zlib's
    packed = packer.compress(body.encode()) + packer.flush()
    size = rest_bytes + 4 * -(-len(packed) // 3) + 2  # base64, quoted
    if size > LAMBDA_RESPONSE_LIMIT_BYTES:
        raise TooLarge(size, LAMBDA_RESPONSE_LIMIT_BYTES, compressed=True)
    return packed


def answer_check(app: APIGatewayHttpResolver) -> Callable[[BaseModel], None]:
    """For a route that must know before it records an outcome whether its answer can be returned at all: raises
    TooLarge for an answer that could not be, for this request (compressed if it accepts gzip). The resolver still
    measures and compresses the answer itself."""
    gzip_accepted = accepts_gzip(app.current_event.headers)

    def check(answer: BaseModel) -> None:
        fit_body(json.dumps(jsonable_encoder(answer)), gzip_accepted=gzip_accepted, rest_bytes=ANSWER_HEADROOM_BYTES)

    return check


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
        problems.append(
            FieldProblem(
                name, str(error.get("msg", "invalid")).removeprefix("Value error, "), str(error.get("type", ""))
            )
        )
    return problems


class FaceError(Exception):
    """An answer other than success, as the client gets it: its status, its JSON body in the face's own shape,
    and any headers. Each face derives its one error class from it (UaiError, DensifyError, ThingSpaceError) and
    says there, once, how it answers every failure; `face_resolver(ThatClass)` answers them all.

    Domain code never raises these: it raises pollgate.errors' kinds, which `refusing` turns into the face's
    answer by `statuses`. The face's HTTP module raises them for what only HTTP knows (a content type, a path).
    """

    # The status that answers each kind of domain refusal, found along the refusal's class hierarchy.
    statuses: ClassVar[Mapping[type[DomainError], int]] = {
        Unauthenticated: 401,
        NotFound: 404,
        Expired: 410,
        Conflict: 409,
        Invalid: 400,
        ServiceFault: 500,
    }
    # For the face's OpenAPI document: the JSON of every error (a pydantic model, or a union of models), and
    # the error statuses any operation of the face may answer, each with what it means.
    documented_body: ClassVar[Any] = None
    documented_statuses: ClassVar[Mapping[int, str]] = {}

    def __init__(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})

    def response(self) -> Response[Any]:
        return json_response(self.status, self.body, self.headers)

    # ------------------------------------------------ how the face answers; override what its shape needs

    @classmethod
    def refusing(cls, error: DomainError) -> Self:
        """The face's answer to a domain refusal: its status by kind, its body as the domain wrote it."""
        return cls(cls.status_of(error), error.body)

    @classmethod
    def status_of(cls, error: DomainError) -> int:
        return next(cls.statuses[kind] for kind in type(error).__mro__ if kind in cls.statuses)

    @classmethod
    def invalid_input(cls, problems: list[FieldProblem]) -> Self:
        """A body or parameter that failed validation (the first problem is the one told)."""
        raise NotImplementedError

    @classmethod
    def invalid_request(cls, event: APIGatewayProxyEventV2, problems: list[FieldProblem]) -> Self:
        """What the face answers a request that failed validation; a face whose answer depends on the request
        (Densify: a body not declared JSON is 415 first) overrides this."""
        return cls.invalid_input(problems)

    @classmethod
    def route_not_found(cls, path: str) -> Self:
        raise NotImplementedError

    @classmethod
    def internal(cls) -> Self:
        raise NotImplementedError

    @classmethod
    def rejected(cls, status: int, problem: str) -> Self:
        """A request refused before parsing (413 body too large, 431 headers too large, 400 not UTF-8 or too deep,
        415 not JSON) or not served (503): by default the face's invalid-input answer with that status."""
        error = cls.invalid_input([FieldProblem("", problem, "request_rejected")])
        error.status = status
        return error

    @classmethod
    def too_large(cls, error: TooLarge) -> Self:
        """An answer larger than Lambda can return, even compressed when the client accepts gzip: by default the
        face's internal error (no route of the face should answer so much); a face whose answers the client sizes
        (Densify's results) says so in its words."""
        return cls.internal()

    @classmethod
    def unsupported_media_type(cls) -> Self:
        """A body Powertools cannot read as JSON or a form (text/plain, application/xml)."""
        return cls.rejected(415, UNSUPPORTED_CONTENT_TYPE)

    @classmethod
    def busy(cls) -> Self:
        """AWS throttled or unavailable: nothing was accepted, so the client may retry (with its Idempotency-Key)."""
        error = cls.rejected(503, "the service is busy; retry shortly")
        error.headers["Retry-After"] = str(TRANSIENT_RETRY_AFTER_SECONDS)
        return error

    @classmethod
    def idempotency_refused(cls, refusal: IdempotencyRefused) -> Self:
        """pollgate.idempotency's refusals: the status and headers are the same on every face, the body its own."""
        status, headers = IDEMPOTENCY_ANSWERS[type(refusal)]
        return cls(status, cls.idempotency_body(refusal), headers)

    @classmethod
    def idempotency_body(cls, refusal: IdempotencyRefused) -> Mapping[str, Any]:
        raise NotImplementedError(f"{cls.__name__} has no idempotent routes")

    @classmethod
    def responses(
        cls, answers: Mapping[int, Any] | None = None, *, status: int = 200, description: str = "Successful Response"
    ) -> dict[int, Any]:
        """A route's `responses=` for its OpenAPI document: the face's errors in the face's shape, then the route's
        own `answers` (which win); without a 2xx among them, `status` with `description`. A success that names no
        content is described by the route's return annotation (Powertools fills it in)."""
        errors = (
            {}
            if cls.documented_body is None
            else {
                code: {"description": meaning, "content": {JSON: {"model": cls.documented_body}}}
                for code, meaning in cls.documented_statuses.items()
            }
        )
        own = dict(answers or {})
        if not any(200 <= code < 300 for code in own):
            own[status] = {"description": description}
        return {**errors, **own}


# The one mapping of idempotency refusals: (status, headers); each face writes the body.
IDEMPOTENCY_ANSWERS: dict[type[IdempotencyRefused], tuple[int, dict[str, str]]] = {
    IdempotencyKeyInvalid: (400, {}),
    IdempotencyKeyReused: (422, {}),
    IdempotencyInProgress: (409, {"Retry-After": "1"}),
}


def request_problem(event: dict[str, Any]) -> tuple[int, str] | None:
    """Why an HTTP API event must be refused before parsing, or None."""
    headers = event.get("headers") or {}
    if sum(len(k) + len(str(v)) for k, v in headers.items()) > MAX_HEADER_BYTES:
        return 431, f"request headers are larger than {MAX_HEADER_BYTES} bytes"
    body = event.get("body")
    multipart = multipart_problem(str(headers.get("content-type", "")), body or "", bool(event.get("isBase64Encoded")))
    if multipart is not None:
        return 400, multipart
    if not body:
        return None
    raw = body.encode() if not event.get("isBase64Encoded") else None
    if raw is None:
        import base64
        import binascii

        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            return 400, "the body is not valid base64"
    if len(raw) > MAX_BODY_BYTES:
        return 413, f"the body is larger than {MAX_BODY_BYTES} bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "the body is not valid UTF-8"
    if json_depth(text) > MAX_JSON_DEPTH:
        return 400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels"
    return None


def multipart_problem(content_type: str, body: str, base64_encoded: bool) -> str | None:
    """What Powertools' multipart parsing would raise a bare ValueError (a 500) for: no boundary, or a text body
    beyond latin-1. No face takes multipart bodies; anything else multipart it refuses in the face's shape."""
    if not content_type.strip().startswith("multipart/form-data"):
        return None
    if "boundary=" not in content_type:
        return "a multipart/form-data body needs a boundary"
    if not base64_encoded:
        try:
            body.encode("latin-1")
        except UnicodeEncodeError:
            return "a multipart/form-data body must be sent as bytes"
    return None


def json_depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings: checked before json.loads, which recurses per level."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


TRANSIENT_RETRY_AFTER_SECONDS = 2
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "TransactionConflictException",
    }
)


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def is_transient(error: Exception) -> bool:
    """AWS throttling, a service fault or a connection problem that outlasted botocore's own retries."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        return _error_code(error) in _TRANSIENT_CODES
    if isinstance(error, BotoCoreError | BatchIncomplete):
        return True
    # Powertools' idempotency layer wraps the DynamoDB error it met.
    return isinstance(error.__cause__, Exception) and is_transient(error.__cause__)


NUMBER_TOO_LONG = "a number has more digits than any field allows"


def read_json(text: str) -> Any:
    """json.loads for request bodies: a number past Python's integer-string limit (sys.get_int_max_str_digits) is
    a validation error, answered 400 in the face's shape, not the bare ValueError json.loads raises (a 500)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise  # Powertools answers it as json_invalid
    except ValueError:
        raise RequestValidationError([{"loc": ("body",), "msg": NUMBER_TOO_LONG, "type": "int_too_long"}]) from None


class FaceResolver(APIGatewayHttpResolver):
    """A Powertools HTTP API resolver that refuses oversized, non-UTF-8 or too-deep requests in the face's shape,
    and never gives Lambda an answer larger than it can return: it compresses one for a client that accepts gzip,
    else answers the face's error."""

    def __init__(self, errors: type[FaceError]) -> None:
        # Validation on: request bodies and parameters, and every answer against the route's return annotation (a
        # pydantic model, or Response[Model]), which also documents it (see face_resolver for an answer that does
        # not match). Bodies are written by json.dumps, as json_response writes the errors: every answer of a face
        # reads alike.
        super().__init__(enable_validation=True, serializer=json.dumps, json_body_deserializer=read_json)
        self.face_error = errors

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:  # type: ignore[override]
        problem = request_problem(event)
        if problem is None:
            return self._returnable(event, super().resolve(event, context))
        logger.info("request refused before parsing", extra={"status": problem[0], "problem": problem[1]})
        return self._answer(self.face_error.rejected(*problem))

    def _returnable(self, event: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        """The answer within Lambda's response limit: as it is, gzipped, or the face's error when it cannot be."""
        body = answer.get("body")
        try:
            if not isinstance(body, str) or answer.get("isBase64Encoded"):  # bytes already: nothing to compress
                if (size := response_bytes(answer)) > LAMBDA_RESPONSE_LIMIT_BYTES:
                    raise TooLarge(size, LAMBDA_RESPONSE_LIMIT_BYTES, compressed=False)
                return answer
            headers = {**(answer.get("headers") or {}), **_GZIPPED}
            fitted = fit_body(
                body,
                gzip_accepted=accepts_gzip(event.get("headers") or {}),
                rest_bytes=response_bytes({**answer, "body": "", "headers": headers}),
            )
        except TooLarge as error:
            logger.error(
                "an answer is larger than Lambda can return",
                extra={"status": answer.get("statusCode"), "size": error.size, "compressed": error.compressed},
            )
            return self._answer(self.face_error.too_large(error))
        if isinstance(fitted, str):
            return answer
        return {**answer, "headers": headers, "body": base64.b64encode(fitted).decode(), "isBase64Encoded": True}

    @staticmethod
    def _answer(error: FaceError) -> dict[str, Any]:
        return {
            "statusCode": error.status,
            "headers": {"Content-Type": JSON, **error.headers},
            "body": json.dumps(error.body),
            "isBase64Encoded": False,
            "cookies": [],
        }


# Where documented_body() leaves the schemas of a body's models for the document generator to put in components.
BODY_SCHEMAS = "x-pollgate-schemas"


def documented_body(model: type[BaseModel], media_type: str = JSON) -> dict[str, Any]:
    """`openapi_extensions=` for a route that parses its body itself (after authentication, where Body() would
    validate before it): the body's model in the OpenAPI document all the same."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        },
        BODY_SCHEMAS: {model.__name__: schema, **nested},
    }


def _answer_invalid(error: RequestValidationError) -> bool:
    """Powertools reports an answer that does not match the route's model as a RequestValidationError located at
    "response" (its response_validation_error_http_code would document, on every route, a body no face sends).
    That is our fault, never the client's."""
    return any(tuple(problem.get("loc", ()))[:1] == ("response",) for problem in error.errors())


def idempotent_request(app: APIGatewayHttpResolver) -> IdempotentRequest | None:
    """The request's Idempotency-Key, if it has one (pollgate.idempotency.run_once honours it)."""
    key = app.current_event.headers.get(IDEMPOTENCY_HEADER)
    return None if key is None else IdempotentRequest(key, app.lambda_context)


def face_resolver(errors: type[FaceError]) -> APIGatewayHttpResolver:
    """The face's resolver: every failure answered once, here, in the face's shape (`errors`)."""
    app = FaceResolver(errors)

    @app.exception_handler(FaceError)  # type: ignore[untyped-decorator]
    def _face(error: FaceError) -> Response[Any]:
        return error.response()

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _refused(error: DomainError) -> Response[Any]:
        return errors.refusing(error).response()

    @app.exception_handler(IdempotencyRefused)  # type: ignore[untyped-decorator]
    def _idempotency(refusal: IdempotencyRefused) -> Response[Any]:
        return errors.idempotency_refused(refusal).response()

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(error: RequestValidationError) -> Response[Any]:
        if _answer_invalid(error):
            logger.error(
                "an answer does not match its model",
                extra={
                    "problems": [
                        (".".join(map(str, problem.get("loc", ()))), problem.get("type")) for problem in error.errors()
                    ]
                },
            )
            return errors.internal().response()
        return errors.invalid_request(app.current_event, field_problems(error.errors())).response()

    # Powertools refuses a Body() route's body sent as neither JSON nor a form (text/plain, application/xml):
    # the client's mistake, not a 500.
    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _unsupported(_: RequestUnsupportedContentType) -> Response[Any]:
        return errors.unsupported_media_type().response()

    @app.not_found
    def _not_found(_: Exception) -> Response[Any]:
        return errors.route_not_found(app.current_event.path).response()

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _internal(error: Exception) -> Response[Any]:
        if is_transient(error):
            logger.warning(
                "AWS dependency unavailable", extra={"error": type(error).__name__, "code": _error_code(error)}
            )
            return errors.busy().response()
        logger.exception("unhandled error", extra={"error": type(error).__name__})
        return errors.internal().response()

    return app
