"""schemathesis hooks (SCHEMATHESIS_HOOKS=tests.contract.schemathesis_hooks): every error in its face's own shape."""

from __future__ import annotations

from typing import Any

import schemathesis
from pollgate_local.openapi import face_name

# The keys of every error body, per face (ThingSpace: its services, its gateway, its OAuth token endpoint).
ERROR_SHAPES = {
    "uai": [{"arguments", "key", "message"}],
    "densify": [{"message", "status"}],
    "thingspace": [{"errorCode", "errorMessage"}, {"fault"}, {"error", "error_description"}],
}


def face_of(case: Any) -> str:
    """The face whose document `case` came from: its title is `pollgate <ApiLogicalId>`."""
    return face_name(str(case.operation.schema.raw_schema["info"]["title"]).rsplit(" ", 1)[-1])


# No bare 404 of API Gateway's is accepted: a method or path no route of an API serves (TRACE on a face's path)
# reaches the API's $default route, whose function answers in the face's shape like any other.
# API Gateway's own answer over a route's throttle (the coverage phase outruns the credential routes' 10/s).
GATEWAY_THROTTLED = (429, {"message": "Too Many Requests"})


def error_shape_problem(face: str, status: int, body: Any) -> str | None:
    in_shape = isinstance(body, dict) and set(body) in ERROR_SHAPES[face]
    if status < 400 or in_shape or (status, body) == GATEWAY_THROTTLED:
        return None
    return f"{status} {body!r} is not in the {face} error shape ({' or '.join(map(str, ERROR_SHAPES[face]))})"


@schemathesis.check
def error_in_face_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    problem = error_shape_problem(face_of(case), response.status_code, body)
    if problem:
        raise AssertionError(problem)
    return None
