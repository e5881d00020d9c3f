"""One way to fail a request: the domain raises kinds, each face answers them with its vendor's status in its own
body, and an answer that does not match its model is the face's internal error, never the client's."""

from __future__ import annotations

from typing import Any

import pytest
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
