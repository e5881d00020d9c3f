"""One way to fail a request: the domain raises kinds, each face answers them with its vendor's status in its own
body, and an answer that does not match its model is the face's internal error, never the client's."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body
from botocore.exceptions import ClientError
from pollgate.api import face_resolver
from pollgate.densify.http import DensifyError
from pollgate.errors import Conflict, DomainError, Expired, Invalid, NotFound, ServiceFault, Unauthenticated
from pollgate.thingspace import errors as thingspace_errors
from pollgate.thingspace.http import ThingSpaceError
from pollgate.uai import messages
from pollgate.uai.http import UaiError
from pydantic import BaseModel

from tests.aws_fixtures import LambdaContext, http_event

CONTEXT: Any = LambdaContext()


@pytest.mark.parametrize(
    ("kind", "uai", "densify", "thingspace"),
    [
        (Unauthenticated, 401, 401, 400),  # ThingSpace's services answer a bad session or login 400 ...
        (thingspace_errors.GatewayFault, 401, 401, 401),  # ... only its gateway answers 401
        (NotFound, 404, 404, 400),
        (Expired, 410, 410, 400),
        (Conflict, 409, 400, 400),
        (Invalid, 400, 400, 400),
        (ServiceFault, 500, 500, 500),
    ],
)
def test_each_face_answers_each_kind_with_its_vendors_status(
    kind: type[DomainError], uai: int, densify: int, thingspace: int
) -> None:
    assert UaiError.refusing(kind(messages.POLLING_NOT_FOUND.render("x"))).status == uai
    assert DensifyError.refusing(kind("Subscription x was not found.")).status == densify
    assert ThingSpaceError.refusing(kind(thingspace_errors.REQUEST_NOT_FOUND.body("x", "a"))).status == thingspace


def test_a_refusal_keeps_the_faces_body() -> None:
    assert UaiError.refusing(NotFound(messages.POLLING_NOT_FOUND.render("p-1"))).body == {
        "arguments": "p-1",
        "key": "polling.notFound",
        "message": "No request has polling ID p-1.",
    }
    assert DensifyError.refusing(NotFound("Subscription s-1 was not found.")).body == {
        "message": "Subscription s-1 was not found.",
        "status": 404,
    }
    assert ThingSpaceError.refusing(thingspace_errors.invalid_credentials()).body["fault"]["code"] == "900901"


class Answer(BaseModel):
    count: int


@pytest.mark.parametrize("face", [UaiError, DensifyError, ThingSpaceError])
def test_an_answer_that_does_not_match_its_model_is_the_faces_internal_error(face: type[Any]) -> None:
    app = face_resolver(face)

    @app.get("/wrong")
    def wrong() -> Answer:
        return {"count": "many"}  # type: ignore[return-value]

    @app.get("/right")
    def right() -> Answer:
        return Answer(count=3)

    answer = app.resolve(http_event("GET", "/wrong"), CONTEXT)
    assert answer["statusCode"] == 500
    assert answer["body"] == face.internal().response().body
    right_answer = app.resolve(http_event("GET", "/right"), CONTEXT)
    assert (right_answer["statusCode"], right_answer["body"]) == (200, '{"count": 3}')


def _uai_app() -> Any:
    app = face_resolver(UaiError)

    @app.post("/report")
    def report(answer: Annotated[Answer, Body()]) -> Answer:
        return answer

    @app.get("/throttled")
    def throttled() -> Answer:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query")

    return app


@pytest.mark.parametrize(
    ("request_kwargs", "status", "key"),
    [
        ({"body": '{"count": "' + "x" * (1024 * 1024) + '"}'}, 413, "request.tooLarge"),
        ({"body": "{}", "headers": {"x-padding": "p" * 16 * 1024}}, 431, "request.headersTooLarge"),
        ({"raw_body": b'{"count": "\xff\xfe"}'}, 400, "request.unreadable"),
        ({"body": "[" * 100 + "]" * 100}, 400, "request.unreadable"),
        ({"body": "count=3", "headers": {"content-type": "text/plain"}}, 415, "request.mediaTypeUnsupported"),
    ],
    ids=["body too large", "headers too large", "not UTF-8", "too deep", "not JSON"],
)
def test_uai_answers_a_request_refused_unread_with_a_key_of_its_own(
    request_kwargs: dict[str, Any], status: int, key: str
) -> None:
    """Clients match `key`: request.bodyInvalid would send them looking for a fault in a body never read."""
    answer = _uai_app().resolve(http_event("POST", "/report", **request_kwargs), CONTEXT)
    assert answer["statusCode"] == status
    refused = json.loads(answer["body"])
    assert set(refused) == {"arguments", "key", "message"}
    assert refused["key"] == key
    assert refused["arguments"] and refused["arguments"] in refused["message"]


def test_uai_answers_a_throttled_request_503_server_busy_with_retry_after() -> None:
    answer = _uai_app().resolve(http_event("GET", "/throttled"), CONTEXT)
    assert answer["statusCode"] == 503
    assert int(answer["headers"]["Retry-After"]) >= 1
    assert json.loads(answer["body"])["key"] == "server.busy"
