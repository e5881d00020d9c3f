"""The HTTP side of the runtime (SAM's emulator + our runner) on a template of its own: events in, answers out."""

from __future__ import annotations

import base64
import http.client
import json
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from pollgate_local.api import LocalHttpApi
from pollgate_local.client import call
from pollgate_local.stack import MOTO_CONFIG, LocalStack, TemplateError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # samtranslator's own, on every read

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    CodeUri: code/
Resources:
  OneApi:
    Type: AWS::Serverless::HttpApi
  OtherApi:
    Type: AWS::Serverless::HttpApi
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Echo:
          Type: HttpApi
          Properties: {ApiId: !Ref OneApi, Method: POST, Path: "/things/{thingId}"}
  PictureFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.picture
      Events:
        Picture:
          Type: HttpApi
          Properties: {ApiId: !Ref OtherApi, Method: GET, Path: /picture}
  CrashFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.crash
      Events:
        Crash:
          Type: HttpApi
          Properties: {ApiId: !Ref OtherApi, Method: GET, Path: /crash}
"""

CODE = """
import base64, json

def echo(event, context):
    return {"statusCode": 201, "headers": {"x-seen": "yes"}, "cookies": ["session=abc; Path=/"],
            "body": json.dumps(event)}

def picture(event, context):
    return {"statusCode": 200, "headers": {"content-type": "image/png"}, "isBase64Encoded": True,
            "body": base64.b64encode(bytes(range(256))).decode()}

def crash(event, context):
    raise RuntimeError("handler bug")

def fallback(event, context):
    return {"statusCode": 418, "body": json.dumps({"routeKey": event["routeKey"], "rawPath": event["rawPath"],
            "api": event["requestContext"]["apiId"], "method": event["requestContext"]["http"]["method"],
            "rawQueryString": event["rawQueryString"]})}
"""


def write_template(folder: Path, text: str) -> Path:
    (folder / "code").mkdir(exist_ok=True)
    (folder / "code" / "app.py").write_text(CODE)
    (folder / "template.yaml").write_text(textwrap.dedent(text))
    return folder / "template.yaml"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    lines: list[str] = []
    with mock_aws(config=MOTO_CONFIG), LocalStack(write_template(tmp_path, TEMPLATE)) as stack:
        stack.provision()
        api = LocalHttpApi(stack, 0, log_line=lines.append)
        try:
            yield api.start(), lines
        finally:
            api.stop()


def test_a_request_becomes_a_payload_2_event_and_the_answer_becomes_http(served: tuple[str, list[str]]) -> None:
    base_url, lines = served
    request = urllib.request.Request(  # noqa: S310 - the loopback server above
        f"{base_url}/things/t-1?color=red&color=blue&size=2",
        data=b"\x00\x01binary",
        method="POST",
        headers={"Content-Type": "application/octet-stream", "X-Device": "D1", "Cookie": "a=1; b=2"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        status, headers, event = answer.status, answer.headers, json.loads(answer.read())
    assert status == 201
    assert headers["x-seen"] == "yes"
    assert headers["Set-Cookie"] == "session=abc; Path=/"
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /things/{thingId}"
    assert event["rawPath"] == "/things/t-1"
    assert event["pathParameters"] == {"thingId": "t-1"}
    assert event["rawQueryString"] == "color=red&color=blue&size=2"
    assert event["queryStringParameters"] == {"color": "red,blue", "size": "2"}
    assert event["headers"]["x-device"] == "D1"
    assert sorted(event["cookies"]) == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["requestId"]
    assert event["requestContext"]["timeEpoch"] > 10**12  # milliseconds, as API Gateway sends it
    assert event["requestContext"]["http"]["userAgent"] == event["headers"]["user-agent"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01binary"
    [line] = lines
    method, path, code, elapsed, function = line.split(" ")
    assert (method, path, code, function) == ("POST", "/things/t-1", "201", "EchoFunction")
    assert elapsed.endswith("ms")


def test_a_base64_answer_reaches_the_client_as_bytes(served: tuple[str, list[str]]) -> None:
    base_url, _ = served
    with urllib.request.urlopen(f"{base_url}/picture", timeout=10) as answer:  # noqa: S310
        assert answer.headers["content-type"] == "image/png"
        assert answer.read() == bytes(range(256))


def test_unknown_routes_are_404_not_found_and_a_crash_is_a_5xx(served: tuple[str, list[str]]) -> None:
    base_url, lines = served
    assert call(base_url, "GET", "/nowhere")[::2] == (404, {"message": "Not Found"})
    assert call(base_url, "GET", "/things/t-1")[::2] == (404, {"message": "Not Found"})  # known path, other method
    crashed = call(base_url, "GET", "/crash")
    assert crashed.status >= 500
    assert "handler bug" not in json.dumps(crashed.body)  # the client never sees the exception
    assert lines[-1].startswith("GET /crash 5") and lines[-1].endswith("CrashFunction")


DEFAULTS = """
  OneDefaultFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.fallback
      Events:
        Default:
          Type: HttpApi
          Properties: {ApiId: !Ref OneApi, Method: ANY, Path: $default}
  OtherDefaultFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.fallback
      Events:
        Default:
          Type: HttpApi
          Properties: {ApiId: !Ref OtherApi, Method: ANY, Path: $default}
"""


def test_unknown_routes_go_to_the_default_route_of_the_api_whose_paths_they_resemble(tmp_path: Path) -> None:
    with mock_aws(config=MOTO_CONFIG), LocalStack(write_template(tmp_path, TEMPLATE + DEFAULTS)) as stack:
        stack.provision()
        api = LocalHttpApi(stack, 0)
        try:
            base_url = api.start()
            status, _, body = call(base_url, "GET", "/things/t-1/more?x=1")
            assert (status, body["routeKey"], body["rawPath"], body["api"]) == (
                418,
                "$default",
                "/things/t-1/more",
                "OneApi",
            )
            assert body["method"] == "GET" and body["rawQueryString"] == "x=1"
            assert call(base_url, "DELETE", "/picture")[2]["api"] == "OtherApi"  # known path, other method
            assert call(base_url, "GET", "/picture")[0] == 200  # served routes are untouched
        finally:
            api.stop()


THROTTLED = """
      DefaultRouteSettings: {ThrottlingRateLimit: 0.001, ThrottlingBurstLimit: 2}
"""


def test_the_templates_route_throttles_answer_429_as_api_gateway_does(tmp_path: Path) -> None:
    throttled = TEMPLATE.replace(
        "  OtherApi:\n    Type: AWS::Serverless::HttpApi\n",
        "  OtherApi:\n    Type: AWS::Serverless::HttpApi\n    Properties:" + THROTTLED,
    )
    with mock_aws(config=MOTO_CONFIG), LocalStack(write_template(tmp_path, throttled)) as stack:
        stack.provision()
        lines: list[str] = []
        api = LocalHttpApi(stack, 0, log_line=lines.append)
        try:
            base_url = api.start()
            answers = [call(base_url, "GET", "/picture") for _ in range(3)]
            assert [answer.status for answer in answers] == [200, 200, 429]
            assert answers[2].body == {"message": "Too Many Requests"}
            assert lines[-1].startswith("GET /picture 429")
            assert call(base_url, "POST", "/things/t-1", {}).status == 201  # OneApi sets no throttle
        finally:
            api.stop()


def test_two_apis_declaring_one_route_stop_the_start(tmp_path: Path) -> None:
    clashing = TEMPLATE.replace("Method: GET, Path: /crash", 'Method: POST, Path: "/things/{name}"')
    with mock_aws(config=MOTO_CONFIG), LocalStack(write_template(tmp_path, clashing)) as stack:
        stack.provision()
        with pytest.raises(TemplateError, match=r"POST /things/\{\}: OneApi/EchoFunction, OtherApi/CrashFunction"):
            LocalHttpApi(stack, 0)


@pytest.mark.parametrize(
    ("content_type", "raw", "as_text"),
    [
        ("application/json", b'{"a": "\xc3\xa9"}', True),
        ("text/plain; charset=utf-8", b"hello", True),
        ("application/x-www-form-urlencoded", b"grant_type=client_credentials", False),  # base64, surprisingly
        (None, b"no content type", False),
        ("application/json", b"\xff\xfe not utf-8", False),
    ],
)
def test_bodies_are_text_or_base64_as_http_apis_send_them(
    served: tuple[str, list[str]], content_type: str | None, raw: bytes, as_text: bool
) -> None:
    base_url, _ = served
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)  # sends only what we say
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request("POST", "/things/t-1", body=raw, headers=headers)
        event = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert event["isBase64Encoded"] is not as_text
    assert (event["body"].encode() if as_text else base64.b64decode(event["body"])) == raw
