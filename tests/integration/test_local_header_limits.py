"""`pollgate run`'s HTTP port: headers the server refuses to read (a line over 64 KiB, more than 100 headers) get
431 in the shape of the face that serves the path, not http.server's HTML page (issue 10)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest
from moto import mock_aws
from pollgate_local.api import LocalHttpApi
from pollgate_local.stack import MOTO_CONFIG, LocalStack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with mock_aws(config=MOTO_CONFIG), LocalStack() as stack:
        stack.provision()
        api = LocalHttpApi(stack, 0, log_line=lambda _: None)
        try:
            yield api.start()
        finally:
            api.stop()


def send(base_url: str, path: str, headers: list[tuple[str, str]]) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=30)
    try:
        connection.putrequest("GET", path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


LONG_LINE = [("X-Long", "v" * 70_000)]
MANY = [(f"X-Header-{n}", "v") for n in range(120)]


@pytest.mark.parametrize("headers", [LONG_LINE, MANY], ids=["a 70 KB header line", "120 headers"])
@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/uai/2.0/updates/statusLog/p-1", {"arguments", "key", "message"}),
        ("/subscriptions/cloud", {"message", "status"}),
        ("/api/m2m/v1/callbacks/acct", {"errorCode", "errorMessage"}),
    ],
)
def test_headers_the_server_cannot_read_get_431_in_the_face_shape(
    base_url: str, headers: list[tuple[str, str]], path: str, shape: set[str]
) -> None:
    status, content_type, body = send(base_url, path, headers)
    assert status == 431
    assert content_type == "application/json"
    assert set(json.loads(body)) == shape
