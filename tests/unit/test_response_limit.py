"""No face hands Lambda an answer larger than it can return (6 MiB): past it a client would get API Gateway's own
error in no face's shape. The shared resolver compresses such an answer for a client that accepts gzip, and
answers the face's own error when even that cannot fit."""

from __future__ import annotations

import base64
import gzip
import json
import os
from typing import Any

import pytest
from pollgate.api import LAMBDA_RESPONSE_LIMIT_BYTES, accepts_gzip, face_resolver, fit_body, response_bytes
from pollgate.densify.http import DensifyError
from pollgate.errors import TooLarge
from pollgate.thingspace.http import ThingSpaceError
from pollgate.uai.http import UaiError
from pydantic import BaseModel

from tests.aws_fixtures import LambdaContext, http_event

CONTEXT: Any = LambdaContext()


class Rows(BaseModel):
    rows: list[dict[str, str | int]]


def rows(count: int) -> Rows:
    """About 110 bytes a row, as JSON: quotes and all, which Lambda's response escapes again."""
    return Rows(
        rows=[
            {"id": f"i-{n:08d}", "recommendation": "Downsize", "region": "us-east-1", "savings": n}
            for n in range(count)
        ]
    )


# Over the limit as Lambda carries it (5.8 MB of JSON, 6.6 MB escaped), and compressible to a few hundred kB.
LARGE = 62_000


def _resolver(face: type[Any]) -> Any:
    app = face_resolver(face)

    @app.get("/rows")
    def listed() -> Rows:
        return rows(int(app.current_event.get_query_string_value("count") or 1))

    @app.get("/noise")
    def noise() -> Rows:
        # Random text: gzip cannot shrink it under the limit.
        return Rows(rows=[{"noise": base64.b64encode(os.urandom(LAMBDA_RESPONSE_LIMIT_BYTES)).decode()}])

    return app


def _get(face: type[Any], path: str, count: int = 1, headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = _resolver(face).resolve(
        http_event("GET", path, query={"count": str(count)}, headers=headers), CONTEXT
    )
    return answer


FACES = [UaiError, DensifyError, ThingSpaceError]


@pytest.mark.parametrize("face", FACES)
def test_an_answer_within_the_limit_is_left_as_it_is(face: type[Any]) -> None:
    answer = _get(face, "/rows", 100, {"accept-encoding": "gzip"})
    assert answer["statusCode"] == 200 and not answer["isBase64Encoded"]
    assert "Content-Encoding" not in answer["headers"]
    assert len(json.loads(answer["body"])["rows"]) == 100


@pytest.mark.parametrize("face", FACES)
def test_an_answer_over_the_limit_is_the_faces_error_for_a_client_that_takes_no_gzip(face: type[Any]) -> None:
    answer = _get(face, "/rows", LARGE)
    assert response_bytes(answer) <= LAMBDA_RESPONSE_LIMIT_BYTES
    refused = json.loads(answer["body"])
    if face is DensifyError:  # the client sizes its answers: a 400 saying how large, and what would help
        assert answer["statusCode"] == 400 and refused["status"] == 400
        assert str(LAMBDA_RESPONSE_LIMIT_BYTES) in refused["message"]
        assert "Accept-Encoding: gzip" in refused["message"]
    else:  # no route of these faces should answer so much: their internal error, in their shape
        assert answer["statusCode"] == 500
        assert answer["body"] == face.internal().response().body


@pytest.mark.parametrize("face", FACES)
def test_an_answer_over_the_limit_is_gzipped_for_a_client_that_accepts_it(face: type[Any]) -> None:
    answer = _get(face, "/rows", LARGE, {"accept-encoding": "br;q=1.0, gzip;q=0.8"})
    assert answer["statusCode"] == 200 and answer["isBase64Encoded"]
    assert answer["headers"]["Content-Encoding"] == "gzip"
    assert response_bytes(answer) <= LAMBDA_RESPONSE_LIMIT_BYTES
    document = json.loads(gzip.decompress(base64.b64decode(answer["body"])))
    assert document == rows(LARGE).model_dump()


@pytest.mark.parametrize("face", FACES)
def test_an_answer_too_large_even_gzipped_is_the_faces_error(face: type[Any]) -> None:
    answer = _get(face, "/noise", headers={"accept-encoding": "gzip"})
    assert answer["statusCode"] == (400 if face is DensifyError else 500)
    assert response_bytes(answer) <= LAMBDA_RESPONSE_LIMIT_BYTES
    if face is DensifyError:
        assert "compressed" in json.loads(answer["body"])["message"]


def test_the_size_counts_the_body_as_lambda_carries_it_escaped() -> None:
    """A JSON body's quotes are escaped inside the response: a 4 MB body can be a 6 MB response."""
    quoted = json.dumps([{"k": "v"}] * 500_000)  # 5 MB of text, a third of it quotes
    assert len(quoted) < LAMBDA_RESPONSE_LIMIT_BYTES < len(json.dumps(quoted))
    with pytest.raises(TooLarge) as refused:
        fit_body(quoted, gzip_accepted=False, rest_bytes=0)
    assert refused.value.size == len(json.dumps(quoted)) and not refused.value.compressed
    assert isinstance(fit_body(quoted, gzip_accepted=True, rest_bytes=0), bytes)


@pytest.mark.parametrize(
    ("accept_encoding", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("GZIP", True),
        ("*", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("identity", False),
        ("br", False),
        ("", False),
        ("gzip;q=zero", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(accept_encoding: str, accepted: bool) -> None:
    assert accepts_gzip({"Accept-Encoding": accept_encoding}) is accepted
