"""IAM enforced locally: the template's roles as SAM expands them, requests as AWS authorizes them, refusals as
AWS writes them, the usage record, and the in-process guard that makes a handler's missing grant fail its test."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from pollgate_local import ACCOUNT, REGION
from pollgate_local.functions import LocalFunction, function_arn
from pollgate_local.iam import Authorizer, Denial, PolicyError, PolicySet, PolicyTemplate, UsageRecord, describe
from pollgate_local.servers import BackgroundServer
from pollgate_local.stack import ROOT, LocalStack

from tests.helpers import iam_guard

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/pollgate-local-Table"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:pollgate-local-WebhookQueue"
FAILED_RUNS = f"arn:aws:sqs:{REGION}:{ACCOUNT}:pollgate-local-ScheduledRunFailureQueue"
SQS_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:admin-AbCdEf"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:flow"


@pytest.fixture(scope="module")
def stack() -> LocalStack:
    return LocalStack()


@pytest.fixture(scope="module")
def template(stack: LocalStack) -> PolicyTemplate:
    return PolicyTemplate.translate(stack._source.template_dict, stack._source.parameters)


@pytest.fixture(scope="module")
def policies(template: PolicyTemplate, stack: LocalStack) -> PolicySet:
    return template.resolve(stack._symbols())


def inline(policies: PolicySet, logical_id: str) -> set[tuple[str, str, str]]:
    return {(g.effect, g.action, g.resource) for g in policies.grants(logical_id) if not g.managed}


# ------------------------------------------------------------------------------------------ template -> PolicySet


def test_a_function_has_the_statements_the_template_gives_it_resolved_to_local_names(policies: PolicySet) -> None:
    assert inline(policies, "WebhookRetryFunction") == {
        ("Allow", "dynamodb:UpdateItem", TABLE),
        ("Allow", "dynamodb:Query", TABLE),
        ("Allow", "dynamodb:Query", TABLE + "/index/due"),
        ("Allow", "sqs:SendMessage", QUEUE),
        # SAM's own, for its EventInvokeConfig: Lambda sends a failed scheduled run there with the function's role.
        ("Allow", "sqs:SendMessage", FAILED_RUNS),
    }


def test_sam_adds_its_managed_policies(policies: PolicySet) -> None:
    delivery = {name for name, _ in policies.documents("WebhookDeliveryFunction")}
    assert {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",  # every function
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",  # Tracing: Active
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    } <= delivery  # its SQS event
    machine = {name for name, _ in policies.documents("UaiStatusLogStateMachine")}
    assert "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess" in machine
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" not in machine
    authorizer = Authorizer(policies)
    delivery_role = policies.principal("WebhookDeliveryFunction")
    assert authorizer.evaluate(delivery_role, "sqs:ReceiveMessage", QUEUE) is None  # the poller's permission
    assert authorizer.evaluate(policies.principal("WebhookRetryFunction"), "sqs:ReceiveMessage", QUEUE) is not None


def test_lambda_invoke_policy_expands_to_invoke_on_the_worker_and_its_versions(policies: PolicySet) -> None:
    authorizer = Authorizer(policies)
    machine = policies.principal("UaiStatusLogStateMachine")
    worker = function_arn("UaiStatusLogWorkerFunction")
    assert authorizer.evaluate(machine, "lambda:InvokeFunction", worker) is None
    assert authorizer.evaluate(machine, "lambda:InvokeFunction", worker + ":live") is None
    assert authorizer.evaluate(machine, "lambda:InvokeFunction", function_arn("UaiRevokeKeyFunction")) is not None


def test_every_task_of_every_state_machine_is_allowed_by_its_role(stack: LocalStack, policies: PolicySet) -> None:
    resolved = stack._resolve(stack._symbols())["Resources"]
    authorizer = Authorizer(policies)
    checked = 0
    for logical_id, resource in resolved.items():
        if resource["Type"] != "AWS::Serverless::StateMachine":
            continue
        props = resource["Properties"]
        text = (ROOT / props["DefinitionUri"]).read_text()
        for key, value in props["DefinitionSubstitutions"].items():
            text = text.replace("${" + key + "}", str(value))
        for action, target in _task_needs(json.loads(text)["States"]):
            denial = authorizer.evaluate(policies.principal(logical_id), action, target)
            assert denial is None, denial.log_line()
            checked += 1
    assert checked >= 7  # both workflows' Lambda tasks and their MarkFailed UpdateItem


def _task_needs(states: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """What each Task state asks of its state machine's role (Lambda invoke and direct DynamoDB integrations)."""
    for state in states.values():
        for nested in [state.get("Iterator"), state.get("ItemProcessor"), *state.get("Branches", [])]:
            if nested:
                yield from _task_needs(nested["States"])
        if state.get("Type") != "Task":
            continue
        resource, parameters = state["Resource"], state.get("Parameters") or {}
        if resource.startswith("arn:aws:states:::lambda:invoke"):
            yield "lambda:InvokeFunction", parameters["FunctionName"]
        elif resource.startswith("arn:aws:states:::dynamodb:"):
            operation = resource.rsplit(":", 1)[-1].split(".")[0]
            yield (
                f"dynamodb:{operation[0].upper()}{operation[1:]}",
                TABLE.replace("pollgate-local-Table", parameters["TableName"]),
            )
        else:
            raise AssertionError(f"teach this test what {resource} needs")


def test_each_principal_has_its_own_assumed_role_credentials(policies: PolicySet) -> None:
    principals = policies.principals
    assert len({p.access_key_id for p in principals}) == len(principals) > 30
    submit = policies.principal("UaiSubmitStatusLogFunction")
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", submit.access_key_id)
    assert submit.arn == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/UaiSubmitStatusLogFunctionRole/UaiSubmitStatusLogFunction"
    )
    assert submit.environment() == {
        "AWS_ACCESS_KEY_ID": submit.access_key_id,
        "AWS_SECRET_ACCESS_KEY": submit.secret_access_key,
        "AWS_SESSION_TOKEN": submit.session_token,
    }
    assert policies.principal_for_access_key(submit.access_key_id) == submit
    assert policies.principal_for_role(submit.role_arn) == submit
    assert policies.principal_for_access_key("AKIAADMINADMINADMIN1") is None
    with pytest.raises(KeyError, match="Table is not a function or state machine"):
        policies.principal("Table")


def test_a_policy_set_survives_json_to_another_process(policies: PolicySet) -> None:
    copy = PolicySet.from_json(policies.to_json())
    assert copy.principals == policies.principals
    assert copy.grants("WebhookRetryFunction") == policies.grants("WebhookRetryFunction")
    retry = copy.principal("WebhookRetryFunction")
    assert Authorizer(copy).evaluate(retry, "dynamodb:Query", TABLE + "/index/due") is None
    assert Authorizer(copy).evaluate(retry, "dynamodb:DeleteItem", TABLE) is not None


def test_a_reference_without_a_local_name_is_refused_at_start(template: PolicyTemplate, stack: LocalStack) -> None:
    symbols = stack._symbols()
    del symbols["WebhookQueue"]
    with pytest.raises(PolicyError, match=r"WebhookQueue has no local symbol \(policies of .*WebhookRetryFunction"):
        template.resolve(symbols)


# ------------------------------------------------------------------------------------------ requests on the wire


class _Captured(Exception):
    pass


new_client: Any = boto3.client  # any service, named at run time


def body_of(request: AWSPreparedRequest) -> bytes | str:
    """The body as describe() reads it (a stream, such as an S3 upload, is not read)."""
    return request.body if isinstance(request.body, bytes | str) else b""


def prepared(
    service: str, operation: str, *, endpoint_url: str | None = None, s3_style: Any = "path", **params: Any
) -> AWSPreparedRequest:
    """The request botocore really sends for `operation(**params)`, caught before it leaves."""
    client = new_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(s3={"addressing_style": s3_style}),
    )
    caught: list[AWSPreparedRequest] = []

    def catch(request: AWSPreparedRequest, **_: Any) -> None:
        caught.append(request)
        raise _Captured

    client.meta.events.register_first("before-send", catch)
    with pytest.raises(_Captured):
        getattr(client, operation)(**params)
    return caught[0]


def needs(service: str, operation: str, **params: Any) -> tuple[tuple[str, str], ...]:
    request = prepared(service, operation, **params)
    return describe(
        request.method, request.url, dict(request.headers.items()), body_of(request), secret_arns=[SECRET]
    ).needs


KEY = {"pk": {"S": "a"}}


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("get_item", {"TableName": "t", "Key": KEY}, [("dynamodb:GetItem", "table/t")]),
        (
            "put_item",
            {"TableName": "t", "Item": KEY, "ConditionExpression": "attribute_not_exists(pk)"},
            [("dynamodb:PutItem", "table/t")],
        ),
        (
            "update_item",
            {
                "TableName": "t",
                "Key": KEY,
                "UpdateExpression": "SET a = :a",
                "ExpressionAttributeValues": {":a": {"S": "1"}},
            },
            [("dynamodb:UpdateItem", "table/t")],
        ),
        ("delete_item", {"TableName": "t", "Key": KEY}, [("dynamodb:DeleteItem", "table/t")]),
        (
            "query",
            {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}},
            [("dynamodb:Query", "table/t")],
        ),
        (
            "query",
            {
                "TableName": "t",
                "IndexName": "due",
                "KeyConditionExpression": "duePk = :p",
                "ExpressionAttributeValues": {":p": {"S": "a"}},
            },
            [("dynamodb:Query", "table/t/index/due")],
        ),
        ("scan", {"TableName": "t", "IndexName": "due"}, [("dynamodb:Scan", "table/t/index/due")]),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": "a", "Item": KEY}},
                    {
                        "Update": {
                            "TableName": "b",
                            "Key": KEY,
                            "UpdateExpression": "SET x = :x",
                            "ExpressionAttributeValues": {":x": {"S": "1"}},
                        }
                    },
                    {"Delete": {"TableName": "a", "Key": KEY}},
                    {"ConditionCheck": {"TableName": "b", "Key": KEY, "ConditionExpression": "attribute_exists(pk)"}},
                ]
            },
            [
                ("dynamodb:PutItem", "table/a"),
                ("dynamodb:UpdateItem", "table/b"),
                ("dynamodb:DeleteItem", "table/a"),
                ("dynamodb:ConditionCheckItem", "table/b"),
            ],
        ),
        (
            "transact_get_items",
            {"TransactItems": [{"Get": {"TableName": "a", "Key": KEY}}, {"Get": {"TableName": "b", "Key": KEY}}]},
            [("dynamodb:GetItem", "table/a"), ("dynamodb:GetItem", "table/b")],
        ),
        (
            "batch_write_item",
            {"RequestItems": {"a": [{"PutRequest": {"Item": KEY}}], "b": [{"DeleteRequest": {"Key": KEY}}]}},
            [("dynamodb:BatchWriteItem", "table/a"), ("dynamodb:BatchWriteItem", "table/b")],
        ),
        ("batch_get_item", {"RequestItems": {"a": {"Keys": [KEY]}}}, [("dynamodb:BatchGetItem", "table/a")]),
        ("list_tables", {}, [("dynamodb:ListTables", "*")]),
    ],
)
def test_dynamodb_requests_name_their_tables_and_indexes(
    operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    prefix = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:"
    assert needs("dynamodb", operation, **params) == tuple(
        (action, resource if resource == "*" else prefix + resource) for action, resource in expected
    )


@pytest.mark.parametrize(
    ("operation", "params", "action"),
    [
        ("send_message", {"QueueUrl": SQS_URL, "MessageBody": "x"}, "sqs:SendMessage"),
        ("send_message_batch", {"QueueUrl": SQS_URL, "Entries": [{"Id": "1", "MessageBody": "x"}]}, "sqs:SendMessage"),
        ("receive_message", {"QueueUrl": SQS_URL}, "sqs:ReceiveMessage"),
        (
            "delete_message_batch",
            {"QueueUrl": SQS_URL, "Entries": [{"Id": "1", "ReceiptHandle": "r"}]},
            "sqs:DeleteMessage",
        ),
        (
            "change_message_visibility_batch",
            {"QueueUrl": SQS_URL, "Entries": [{"Id": "1", "ReceiptHandle": "r", "VisibilityTimeout": 1}]},
            "sqs:ChangeMessageVisibility",
        ),
        ("get_queue_url", {"QueueName": "orders"}, "sqs:GetQueueUrl"),
    ],
)
def test_sqs_requests_name_their_queue_and_batches_need_the_single_action(
    operation: str, params: dict[str, Any], action: str
) -> None:
    assert needs("sqs", operation, **params) == ((action, f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"),)


def test_sqs_query_protocol_requests_are_read_too() -> None:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    body = "Action=DeleteMessageBatch&QueueUrl=" + SQS_URL.replace(REGION, "eu-west-1") + "&Version=2012-11-05"
    call = describe("POST", "https://sqs.eu-west-1.amazonaws.com/", headers, body)
    assert (call.protocol, call.needs) == ("query", (("sqs:DeleteMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders"),))


def test_step_functions_requests_name_the_machine_or_the_execution() -> None:
    execution = MACHINE.replace(":stateMachine:", ":execution:") + ":run-1"
    assert needs("stepfunctions", "start_execution", stateMachineArn=MACHINE, input="{}") == (
        ("states:StartExecution", MACHINE),
    )
    assert needs("stepfunctions", "describe_execution", executionArn=execution) == (
        ("states:DescribeExecution", execution),
    )
    assert needs("stepfunctions", "list_state_machines") == (("states:ListStateMachines", "*"),)


@pytest.mark.parametrize("secret_id", [SECRET, SECRET[:-7], "admin"])
def test_a_secret_is_named_by_its_full_arn_however_it_is_given(secret_id: str) -> None:
    assert needs("secretsmanager", "get_secret_value", SecretId=secret_id) == (
        ("secretsmanager:GetSecretValue", SECRET),
    )


def test_an_unknown_secret_is_named_by_the_arn_its_name_gives() -> None:
    assert needs("secretsmanager", "get_secret_value", SecretId="other") == (
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:other"),
    )


@pytest.mark.parametrize("style", ["path", "virtual"])
@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("get_object", {"Key": "webhook-payloads/a b.gz"}, [("s3:GetObject", "bkt/webhook-payloads/a b.gz")]),
        ("head_object", {"Key": "k"}, [("s3:GetObject", "bkt/k")]),
        ("put_object", {"Key": "k", "Body": b"payload"}, [("s3:PutObject", "bkt/k")]),
        ("delete_object", {"Key": "k"}, [("s3:DeleteObject", "bkt/k")]),
        ("list_objects_v2", {"Prefix": "webhook-payloads/"}, [("s3:ListBucket", "bkt")]),
        ("head_bucket", {}, [("s3:ListBucket", "bkt")]),
        (
            "delete_objects",
            {"Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}},
            [("s3:DeleteObject", "bkt/x"), ("s3:DeleteObject", "bkt/y")],
        ),
        (
            "copy_object",
            {"Key": "k", "CopySource": "src/old"},
            [("s3:PutObject", "bkt/k"), ("s3:GetObject", "src/old")],
        ),
    ],
)
def test_s3_requests_name_bucket_and_key_in_either_addressing_style(
    operation: str, params: dict[str, Any], expected: list[tuple[str, str]], style: str
) -> None:
    request = prepared("s3", operation, s3_style=style, Bucket="bkt", **params)
    host = request.url.split("/")[2]
    assert host.startswith("bkt.") == (style == "virtual")
    assert describe(request.method, request.url, dict(request.headers.items()), body_of(request)).needs == tuple(
        (action, f"arn:aws:s3:::{resource}") for action, resource in expected
    )


def test_s3_on_a_local_endpoint_is_read_in_either_addressing_style() -> None:
    for style in ("path", "virtual"):
        request = prepared(
            "s3", "get_object", endpoint_url="http://localhost:5000", s3_style=style, Bucket="bkt", Key="k"
        )
        assert describe(request.method, request.url, dict(request.headers.items())).needs == (
            ("s3:GetObject", "arn:aws:s3:::bkt/k"),
        )


@pytest.mark.parametrize(
    ("params", "resource"),
    [
        ({"FunctionName": "Worker"}, "function:Worker"),
        ({"FunctionName": "Worker", "Qualifier": "live"}, "function:Worker:live"),
        ({"FunctionName": "Worker:7"}, "function:Worker:7"),
        ({"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Worker"}, "function:Worker"),
    ],
)
def test_lambda_invoke_needs_invoke_on_the_function_and_its_qualifier(params: dict[str, Any], resource: str) -> None:
    assert needs("lambda", "invoke", Payload=b"{}", **params) == (
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:{resource}"),
    )


def test_get_caller_identity_needs_nothing_and_anything_else_is_its_operation_on_every_resource() -> None:
    assert needs("sts", "get_caller_identity") == ()
    assert needs("cloudwatch", "put_metric_data", Namespace="n", MetricData=[{"MetricName": "m", "Value": 1}]) == (
        ("cloudwatch:PutMetricData", "*"),
    )
    assert needs("sns", "publish", TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t", Message="m") == (("sns:Publish", "*"),)
    assert needs("events", "put_events", Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]) == (
        ("events:PutEvents", "*"),
    )


# ------------------------------------------------------------------------------------------ decisions


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-function template with an explicit Deny, a conditional Allow and a SAM policy template, and a
    handler that reads (allowed) and deletes (denied) through two boto3 sessions."""
    root = tmp_path_factory.mktemp("project")
    (root / "fn").mkdir()
    (root / "fn" / "app.py").write_text(
        textwrap.dedent("""
        import os

        import boto3
        from botocore.exceptions import ClientError

        KEY = {"pk": {"S": "a"}, "sk": {"S": "b"}}


        def lambda_handler(event, context):
            table = os.environ["TABLE_NAME"]
            boto3.client("dynamodb").get_item(TableName=table, Key=KEY)
            codes = []
            for client in (boto3.client("dynamodb"), boto3.session.Session().client("dynamodb")):
                try:
                    client.delete_item(TableName=table, Key=KEY)
                    codes.append(None)
                except ClientError as error:
                    codes.append(error.response["Error"]["Code"])
            return codes
    """)
    )
    (root / "template.yaml").write_text(
        textwrap.dedent("""
        AWSTemplateFormatVersion: "2010-09-09"
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Table:
            Type: AWS::DynamoDB::Table
            Properties:
              BillingMode: PAY_PER_REQUEST
              AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
              KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: fn/
              Handler: app.lambda_handler
              Runtime: python3.13
              Environment:
                Variables:
                  TABLE_NAME: !Ref Table
              Policies:
                - SQSSendMessagePolicy:
                    QueueName: orders
                - Statement:
                    - Effect: Allow
                      Action: dynamodb:*
                      Resource: !GetAtt Table.Arn
                    - Effect: Deny
                      Action: dynamodb:DeleteItem
                      Resource: !GetAtt Table.Arn
                    - Effect: Allow
                      Action: s3:GetObject
                      Resource: arn:aws:s3:::bucket/*
                      Condition:
                        Bool: {aws:SecureTransport: "true"}
    """)
    )
    return root


@pytest.fixture(scope="module")
def small(project: Path) -> PolicySet:
    stack = LocalStack(project / "template.yaml")
    return PolicyTemplate.translate(stack._source.template_dict, stack._source.parameters).resolve(stack._symbols())


def test_allow_wildcards_explicit_deny_and_no_allow(small: PolicySet) -> None:
    authorizer = Authorizer(small)
    fn = small.principal("Fn")
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/pollgate-local-Table"
    assert authorizer.evaluate(fn, "dynamodb:GetItem", table) is None  # dynamodb:*
    assert authorizer.evaluate(fn, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders") is None  # template
    denied = authorizer.evaluate(fn, "dynamodb:DeleteItem", table)
    assert denied is not None and denied.explicit
    assert denied.message().endswith("with an explicit deny in an identity-based policy")
    other = authorizer.evaluate(fn, "dynamodb:GetItem", table.replace("pollgate-local-Table", "other"))
    assert other is not None and not other.explicit
    assert other.message() == (
        f"User: {fn.arn} is not authorized to perform: dynamodb:GetItem on resource: "
        f"{table.replace('pollgate-local-Table', 'other')} because no identity-based policy allows the "
        "dynamodb:GetItem action"
    )
    assert other.log_line() == f"IAM denied Fn: dynamodb:GetItem on {table.replace('pollgate-local-Table', 'other')}"
    # A condition cannot be evaluated here, so its Allow grants nothing.
    assert authorizer.evaluate(fn, "s3:GetObject", "arn:aws:s3:::bucket/k") is not None


def test_a_key_the_policy_set_does_not_know_is_the_admin(small: PolicySet) -> None:
    request = prepared("dynamodb", "delete_item", TableName="pollgate-local-Table", Key=KEY)
    assert (
        Authorizer(small).check(
            "AKIDEXAMPLE", request.method, request.url, dict(request.headers.items()), body_of(request)
        )
        is None
    )
    assert Authorizer(small).check_invoke(None, function_arn("Fn")) is None


def test_the_usage_record_lists_the_grants_no_call_used(small: PolicySet, policies: PolicySet) -> None:
    usage = UsageRecord()
    authorizer = Authorizer(small, usage=usage)
    fn = small.principal("Fn")
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/pollgate-local-Table"
    assert authorizer.evaluate(fn, "dynamodb:Query", table) is None
    used = usage.used()
    assert [(g.action, needs_) for g, needs_ in used.items()] == [
        ("dynamodb:*", frozenset({("dynamodb:Query", table)}))
    ]
    unused = {(g.action, g.resource) for g in authorizer.unused_grants()}
    assert ("dynamodb:*", table) not in unused
    assert ("sqs:SendMessage*", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders") in unused  # SQSSendMessagePolicy
    assert not any(g.managed for g in authorizer.unused_grants())
    assert any(g.managed for g in authorizer.unused_grants(include_managed=True))
    assert usage.callers == {"Fn"}
    # Another symbol table (a test's own names) counts against the same grants, as the template wrote them.
    renamed = Authorizer(PolicySet.from_json(small.to_json().replace("pollgate-local-Table", "t2")), usage=usage)
    assert (
        renamed.evaluate(
            renamed.policies.principal("Fn"), "dynamodb:GetItem", table.replace("pollgate-local-Table", "t2")
        )
        is None
    )
    assert len(usage.used()) == 1


# ------------------------------------------------------------------------------------------ refusals, on the wire


class _Recorder:
    """The app behind the check (moto's place): answers `{}` and keeps what reached it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.seen.append((environ["PATH_INFO"], environ["wsgi.input"].read(length)))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]


@pytest.fixture
def served(policies: PolicySet) -> Iterator[tuple[str, _Recorder, list[Any]]]:
    recorder, denials = _Recorder(), cast(list[Denial], [])
    server = BackgroundServer(Authorizer(policies, on_denied=denials.append).wsgi(recorder), name="iam-test")
    try:
        yield server.start(), recorder, denials
    finally:
        server.stop()


def client_as(service: str, url: str, key: Any) -> Any:
    return new_client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        aws_session_token=key.session_token,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


REFUSED: list[tuple[str, str, dict[str, Any], str]] = [
    ("dynamodb", "delete_item", {"TableName": "pollgate-local-Table", "Key": KEY}, "AccessDeniedException"),
    (
        "sqs",
        "purge_queue",
        {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/pollgate-local-WebhookQueue"},
        "AccessDenied",
    ),
    (
        "stepfunctions",
        "describe_execution",
        {"executionArn": MACHINE.replace("stateMachine", "execution") + ":x"},
        "AccessDeniedException",
    ),
    ("secretsmanager", "get_secret_value", {"SecretId": "other"}, "AccessDeniedException"),
    ("s3", "get_object", {"Bucket": "pollgate-local-webhookpayloadbucket", "Key": "other/k"}, "AccessDenied"),
    ("s3", "head_object", {"Bucket": "pollgate-local-webhookpayloadbucket", "Key": "other/k"}, "403"),
    ("lambda", "invoke", {"FunctionName": "UaiRevokeKeyFunction", "Payload": b"{}"}, "AccessDeniedException"),
    (
        "cloudwatch",
        "put_metric_data",
        {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": 1}]},
        "AccessDenied",
    ),
]


@pytest.mark.parametrize(
    ("service", "operation", "params", "code"), REFUSED, ids=[f"{s}.{o}" for s, o, _, _ in REFUSED]
)
def test_a_refusal_is_the_client_error_aws_gives(
    served: tuple[str, _Recorder, list[Any]],
    policies: PolicySet,
    service: str,
    operation: str,
    params: dict[str, Any],
    code: str,
) -> None:
    url, recorder, denials = served
    caller = policies.principal("WebhookDeliveryFunction")
    with pytest.raises(ClientError) as refused:
        getattr(client_as(service, url, caller), operation)(**params)
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
    if code != "403":  # a HEAD answer has no body to carry a message, on AWS too
        assert refused.value.response["Error"]["Message"] == denials[0].message()
    assert recorder.seen == []  # refused before moto's place
    assert [d.principal.logical_id for d in denials] == ["WebhookDeliveryFunction"]


def test_an_allowed_request_reaches_the_app_whole(
    served: tuple[str, _Recorder, list[Any]], policies: PolicySet
) -> None:
    url, recorder, denials = served
    client = client_as("dynamodb", url, policies.principal("WebhookDeliveryFunction"))
    client.get_item(TableName="pollgate-local-Table", Key=KEY)
    assert len(recorder.seen) == 1 and json.loads(recorder.seen[0][1]) == {
        "TableName": "pollgate-local-Table",
        "Key": KEY,
    }
    admin = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )
    admin.delete_item(TableName="pollgate-local-Table", Key=KEY)
    assert len(recorder.seen) == 2 and denials == []


# ------------------------------------------------------------------------------------------ the in-process guard


@pytest.fixture
def guarded(project: Path) -> Iterator[tuple[iam_guard.IamGuard, LocalFunction, Callable[[], bool]]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="guarded",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        client.put_item(TableName="guarded", Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TABLE_NAME", "guarded")
            fn = LocalFunction(
                logical_id="fn",
                name="fn",
                arn=function_arn("fn"),
                code_dir=project / "fn",
                handler="app.lambda_handler",
                timeout_seconds=30,
                memory_mb=128,
                environment={},
            )
            yield (
                iam_guard.IamGuard(project / "template.yaml"),
                fn,
                lambda: "Item" in client.get_item(TableName="guarded", Key={"pk": {"S": "a"}, "sk": {"S": "b"}}),
            )


def test_the_guard_refuses_a_handler_call_its_role_lacks_before_moto_sees_it(guarded: Any) -> None:
    guard, fn, item_exists = guarded
    with iam_guard.enforced(guard=guard), guard.expect_denied() as denied:
        assert fn.invoke({}) == ["AccessDeniedException", "AccessDeniedException"]  # both sessions checked
    assert item_exists()  # the test itself is the admin, and moto never got the refused deletes
    assert [d.log_line() for d in denied] == [
        f"IAM denied Fn: dynamodb:DeleteItem on arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/guarded"
    ] * 2


def test_a_denial_the_test_did_not_expect_fails_it(guarded: Any) -> None:
    guard, fn, _ = guarded
    with (
        pytest.raises(pytest.fail.Exception, match="IAM denied Fn: dynamodb:DeleteItem"),
        iam_guard.enforced(guard=guard),
    ):
        fn.invoke({})  # the handler swallowed the AccessDenied: the test still fails


def test_outside_a_handler_and_with_the_guard_off_nothing_is_checked(guarded: Any) -> None:
    _, fn, item_exists = guarded
    with iam_guard.enforced(off=True):
        assert fn.invoke({}) == [None, None]
    assert not item_exists()
