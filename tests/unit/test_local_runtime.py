"""The local runtime's pure pieces: names, rates, generated secrets, shared environment, routes, events, functions."""

from __future__ import annotations

import json
import shlex
import string
import threading
from pathlib import Path
from typing import Any

import pytest
from pollgate_local.api import check_routes
from pollgate_local.cli import parameter_overrides
from pollgate_local.demo import DemoContext
from pollgate_local.events import sqs_event
from pollgate_local.functions import FunctionError, LocalFunction
from pollgate_local.invoke_server import function_name_of
from pollgate_local.stack import TemplateError, checked_overrides, generated_secret, rate_seconds, shared_environment


@pytest.mark.parametrize(
    "identifier",
    [
        "Worker",
        "Worker:$LATEST",
        "123456789012:function:Worker",
        "arn:aws:lambda:us-east-1:123456789012:function:Worker",
        "arn:aws:lambda:us-east-1:123456789012:function:Worker:7",
    ],
)
def test_every_form_of_a_function_name_reduces_to_the_name(identifier: str) -> None:
    assert function_name_of(identifier) == "Worker"


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60.0),
        ("rate(5 minutes)", 300.0),
        ("rate(2 hours)", 7200.0),
        ("rate(1 day)", 86400.0),
        ("cron(0 12 * * ? *)", None),
        ("at(2026-01-01T00:00:00)", None),
    ],
)
def test_rate_expressions(expression: str, seconds: float | None) -> None:
    assert rate_seconds(expression) == seconds


def test_generated_secrets_honour_length_and_exclusions() -> None:
    value = generated_secret({"PasswordLength": 48, "ExcludePunctuation": True})
    assert len(value) == 48 and set(value) <= set(string.ascii_letters + string.digits)
    assert value != generated_secret({"PasswordLength": 48, "ExcludePunctuation": True})
    numeric = generated_secret(
        {
            "PasswordLength": 20,
            "ExcludeLowercase": True,
            "ExcludeUppercase": True,
            "ExcludePunctuation": True,
            "ExcludeCharacters": "0",
        }
    )
    assert set(numeric) <= set("123456789")
    wrapped = json.loads(generated_secret({"SecretStringTemplate": '{"user": "admin"}', "GenerateStringKey": "pw"}))
    assert wrapped["user"] == "admin" and len(wrapped["pw"]) == 32


def test_two_functions_disagreeing_on_a_variable_fail_at_start() -> None:
    with pytest.raises(TemplateError, match="LOG_LEVEL: A='DEBUG' but B='INFO'"):
        shared_environment({"A": {"LOG_LEVEL": "DEBUG"}, "B": {"LOG_LEVEL": "INFO"}})
    assert shared_environment({"A": {"X": "1"}, "B": {"X": "1", "Y": "2"}}) == {"X": "1", "Y": "2"}


def test_routes_that_answer_the_same_request_fail_at_start() -> None:
    check_routes([("UaiApi", "GET", "/a/{id}", "F"), ("UaiApi", "POST", "/a/{id}", "G"), ("UaiApi", "GET", "/b", "F")])
    with pytest.raises(TemplateError, match=r"GET /a/\{\}: DensifyApi/G, UaiApi/F"):
        check_routes([("UaiApi", "GET", "/a/{id}", "F"), ("DensifyApi", "ANY", "/a/{name}", "G")])


def test_sqs_event_has_the_shape_lambda_sends() -> None:
    event = sqs_event(
        [
            {
                "MessageId": "m1",
                "ReceiptHandle": "r1",
                "Body": "hi",
                "MD5OfBody": "x",
                "Attributes": {"ApproximateReceiveCount": "1"},
                "MessageAttributes": {"kind": {"StringValue": "push", "DataType": "String"}},
            }
        ],
        "arn:aws:sqs:us-east-1:123456789012:q",
    )
    [record] = event["Records"]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(":q")
    assert (record["messageId"], record["receiptHandle"], record["body"]) == ("m1", "r1", "hi")
    assert record["messageAttributes"]["kind"]["stringValue"] == "push"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"


def test_curl_lines_survive_the_shell(tmp_path: Path) -> None:
    ctx = DemoContext(base_url="http://127.0.0.1:3000", stack=None, state_dir=tmp_path)  # type: ignore[arg-type]
    line = ctx.curl("POST", "/x", {"note": "it's here"}, {"Authorization": "Bearer a b"})
    assert shlex.split(line) == [
        "curl",
        "-sS",
        "-i",
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer a b",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"note":"it\'s here"}',
        "http://127.0.0.1:3000/x",
    ]


HANDLER = """
import threading, time
loaded_at = time.monotonic()
calls = []

def handler(event, context):
    calls.append(event)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("boom"):
        raise ValueError("boom")
    return {"instance": id(calls), "calls": len(calls), "remaining": context.get_remaining_time_in_millis() > 0}
"""


@pytest.fixture
def function(tmp_path: Path) -> LocalFunction:
    (tmp_path / "app.py").write_text(HANDLER)
    return LocalFunction(
        logical_id="Fn",
        name="Fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:Fn",
        code_dir=tmp_path,
        handler="app.handler",
        timeout_seconds=1.0,
        memory_mb=128,
        environment={},
    )


def test_a_warm_instance_is_reused_and_errors_carry_their_type(function: LocalFunction) -> None:
    first, second = function.invoke({}), function.invoke({})
    assert first["instance"] == second["instance"] and second["calls"] == 2 and first["remaining"]
    with pytest.raises(FunctionError) as raised:
        function.invoke({"boom": True})
    assert raised.value.payload()["errorType"] == "ValueError"
    assert raised.value.payload()["errorMessage"] == "boom"


def test_concurrent_invocations_get_instances_of_their_own(function: LocalFunction) -> None:
    answers: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: answers.append(function.invoke({"sleep": 0.3}))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len({answer["instance"] for answer in answers}) == 2  # two module namespaces, like two sandboxes


def test_a_handler_past_its_timeout_answers_like_lambda(function: LocalFunction) -> None:
    function.timeout_seconds = 0.2
    with pytest.raises(FunctionError) as raised:
        function.invoke({"sleep": 1})
    assert raised.value.error_type == "Sandbox.Timedout"
    assert "0.20 seconds" in raised.value.message


@pytest.fixture(scope="module")
def declared_parameters() -> dict[str, Any]:
    from samcli.yamlhelper import yaml_parse

    template = Path(__file__).resolve().parents[2] / "template.yaml"
    return dict(yaml_parse(template.read_text())["Parameters"])


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"WebhookMaxConcurency": "30"}, r"Parameters: \[WebhookMaxConcurency\] do not exist in the template"),
        ({"WebhookMaxConcurrency": "1"}, "'WebhookMaxConcurrency' must be a number not less than 2"),
        ({"WebhookMaxConcurrency": "1001"}, "'WebhookMaxConcurrency' must be a number not greater than 1000"),
        ({"WebhookMaxConcurrency": "ten"}, "'WebhookMaxConcurrency' must be a number"),
        ({"LogRetentionDays": "2"}, "'LogRetentionDays' must be one of AllowedValues"),
        ({"LogLevel": "TRACE"}, "'LogLevel' must be one of AllowedValues"),
        ({"Stage": "Prod_1"}, r"'Stage' failed to satisfy constraint: Must match pattern \[a-z0-9-\]\+"),
    ],
)
def test_overrides_cloudformation_would_refuse_are_refused_at_start(
    declared_parameters: dict[str, Any], overrides: dict[str, str], refusal: str
) -> None:
    with pytest.raises(TemplateError, match=refusal):
        checked_overrides(declared_parameters, overrides)


def test_overrides_cloudformation_takes_are_taken(declared_parameters: dict[str, Any]) -> None:
    checked_overrides(
        declared_parameters,
        {
            "WebhookMaxConcurrency": "2",
            "LogRetentionDays": "14",
            "LogLevel": "DEBUG",
            "Stage": "qa-2",
            "AlarmEmail": "",
        },
    )
    checked_overrides(declared_parameters, {"WebhookMaxConcurrency": "1000", "AlarmEmail": ""})


def testparameter_overrides_are_read_as_sam_reads_them() -> None:
    assert parameter_overrides([]) == {}
    assert parameter_overrides(["WebhookMaxConcurrency=30 LogLevel=DEBUG"]) == {
        "WebhookMaxConcurrency": "30",
        "LogLevel": "DEBUG",
    }
    assert parameter_overrides(["ParameterKey=Stage,ParameterValue=qa", "AlarmEmail=ops@example.com"]) == {
        "Stage": "qa",
        "AlarmEmail": "ops@example.com",
    }
    with pytest.raises(SystemExit, match="--parameter-overrides: garbage is not a valid format"):
        parameter_overrides(["garbage"])
