"""The moto internals the local runtime adapts (local/pollgate_local/adapters.py), pinned to the installed moto.

No AWS here: moto in process. If a moto upgrade moves one of these internals, this fails first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws
from pollgate_local import adapters

from tests.helpers.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = json.dumps(
    {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"done": True}, "End": True}}}
)


@pytest.fixture
def sfn() -> Iterator[Any]:
    adapters.express_semantics()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def machine(sfn: Any, kind: str) -> str:
    role = "arn:aws:iam::123456789012:role/sfn"
    arn: str = sfn.create_state_machine(name=f"m-{kind}", definition=DEFINITION, roleArn=role, type=kind)[
        "stateMachineArn"
    ]
    return arn


def test_the_installed_moto_and_sam_cli_are_the_ones_the_adapters_were_written_for() -> None:
    import samcli

    assert (moto.__version__, samcli.__version__) == (adapters.MOTO_VERSION, adapters.SAM_CLI_VERSION)
    adapters.check_version()
    pins = (ROOT / "pyproject.toml").read_text()
    assert f'"moto[server]=={adapters.MOTO_VERSION}"' in pins and f'"aws-sam-cli=={adapters.SAM_CLI_VERSION}"' in pins


def test_sam_resolves_parameters_with_their_defaults_and_pseudo_parameters() -> None:
    template = {"Parameters": {"Stage": {"Type": "String", "Default": "dev"}, "Other": {"Type": "String"}}}
    values = adapters.sam_parameter_values(template, {"Other": "given"})
    assert (values["Stage"], values["Other"], values["AWS::Region"]) == ("dev", "given", "us-east-1")


def test_the_flask_app_inside_sams_api_gateway_emulator_is_reachable() -> None:
    from flask import Flask
    from samcli.lib.providers.provider import Api
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    class Runner:
        def is_debugging(self) -> bool:
            return False

    service = LocalApigwService(Api(routes=[]), lambda_runner=Runner(), port=0, host="127.0.0.1")
    service.create()
    assert isinstance(adapters.flask_app_of(service), Flask)


def test_express_workflows_refuse_what_aws_does_not_offer_them(sfn: Any) -> None:
    arn = machine(sfn, "EXPRESS")
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.describe_execution(executionArn=execution)
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.get_execution_history(executionArn=execution)
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.list_executions(stateMachineArn=arn)


def test_standard_workflows_keep_every_execution_api(sfn: Any) -> None:
    arn = machine(sfn, "STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    assert sfn.describe_execution(executionArn=execution)["executionArn"] == execution
    assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == [execution]


def test_the_runtimes_record_holds_express_executions_and_their_outcome(sfn: Any) -> None:
    arn = machine(sfn, "EXPRESS")
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]

    def finished() -> dict[str, Any] | None:
        found = [e for e in adapters.executions(arn, history=True) if e["executionArn"] == execution]
        return found[0] if found and found[0]["status"] != "RUNNING" else None

    record = eventually(finished, timeout=10)
    assert record is not None
    assert (record["type"], record["status"], json.loads(record["output"])) == ("EXPRESS", "SUCCEEDED", {"done": True})
    assert json.loads(record["input"]) == {"n": 1}
    assert any(event["type"] == "ExecutionSucceeded" for event in record["events"])
    json.dumps(record)  # what the services process serves as JSON


@pytest.fixture
def table() -> Iterator[Any]:
    adapters.faster_moto()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-gsi",
                    "KeySchema": [
                        {"AttributeName": "gsi", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield dynamodb


def item(pk: str, sk: str, **extra: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{name: {"S": value} for name, value in extra.items()}}


def everything(dynamodb: Any) -> list[dict[str, Any]]:
    return sorted(dynamodb.scan(TableName="t")["Items"], key=lambda found: (found["pk"]["S"], found["sk"]["S"]))


def test_a_cancelled_transaction_puts_back_exactly_what_it_wrote(table: Any) -> None:
    for n in range(3):
        table.put_item(TableName="t", Item=item("p", str(n), v="before"))
    before = everything(table)
    with pytest.raises(table.exceptions.TransactionCanceledException):
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": item("p", "new")}},
                {"Delete": {"TableName": "t", "Key": item("p", "0")}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": item("p", "1"),
                        "UpdateExpression": "SET v = :after",
                        "ExpressionAttributeValues": {":after": {"S": "after"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": item("p", "2"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert everything(table) == before


def test_a_transaction_that_holds_writes_every_item(table: Any) -> None:
    table.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": item("p", str(n))}} for n in range(3)])
    assert [found["sk"]["S"] for found in everything(table)] == ["0", "1", "2"]


def test_a_table_query_reads_its_partition_in_order_and_an_index_query_the_index(table: Any) -> None:
    for pk, sk in (("b", "2"), ("a", "9"), ("b", "1"), ("c", "0")):
        table.put_item(TableName="t", Item=item(pk, sk, gsi="g" if pk != "c" else "h"))
    answer = table.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "b"}})
    assert [found["sk"]["S"] for found in answer["Items"]] == ["1", "2"]
    backwards = table.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "b"}},
        ScanIndexForward=False,
        Limit=1,
    )
    assert [found["sk"]["S"] for found in backwards["Items"]] == ["2"]
    assert "LastEvaluatedKey" in backwards
    by_index = table.query(
        TableName="t",
        IndexName="by-gsi",
        KeyConditionExpression="gsi = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
    )
    assert sorted(found["sk"]["S"] for found in by_index["Items"]) == ["1", "2", "9"]
    assert (
        table.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}})[
            "Items"
        ]
        == []
    )


def test_a_key_condition_query_pages_through_its_key_range_and_reads_nothing_outside_it(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    for n in range(30):
        table.put_item(TableName="t", Item=item("acct", f"DEVICE#{n:02d}"))
    for n in range(5):
        table.put_item(TableName="t", Item=item("acct", f"LISTENER#{n}"))
    sized: list[str] = []
    size = Item.size

    def recorded_size(self: Item) -> int:
        sized.append(str(self.range_key and self.range_key.value))
        return size(self)

    monkeypatch.setattr(Item, "size", recorded_size)
    pages: list[list[str]] = []
    start: dict[str, Any] | None = None
    while len(pages) < 5:
        answer = table.query(
            TableName="t",
            KeyConditionExpression="pk = :p AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":p": {"S": "acct"}, ":prefix": {"S": "LISTENER#"}},
            Limit=2,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        pages.append([found["sk"]["S"] for found in answer["Items"]])
        start = answer.get("LastEvaluatedKey")
        if not start:
            break
    assert pages == [["LISTENER#0", "LISTENER#1"], ["LISTENER#2", "LISTENER#3"], ["LISTENER#4"]]
    assert sized and all(key.startswith("LISTENER#") for key in sized)


# ------------------------------------------------------------------------------------- answers as moto gives them
@pytest.fixture
def answers(table: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Every DynamoDB answer is also serialized by moto's own serializer and the two compared; which operations
    took the lean path and which fell back to moto's is recorded."""
    from moto.dynamodb.responses import DynamoHandler

    taken: dict[str, list[str]] = {"lean": [], "moto": []}
    lean = DynamoHandler.serialized
    serialize = adapters.moto_serialized

    def falling_back(handler: Any, action_result: Any) -> Any:
        taken["moto"].append(handler._get_action())
        return serialize(handler, action_result)

    def compared(handler: Any, action_result: Any) -> Any:
        before = len(taken["moto"])
        status, headers, body = lean(handler, action_result)
        if len(taken["moto"]) == before:
            taken["lean"].append(handler._get_action())
        expected_status, expected_headers, expected_body = serialize(handler, action_result)
        assert (status, json.loads(body)) == (expected_status, json.loads(expected_body)), handler._get_action()
        assert headers["Content-Type"] == expected_headers["Content-Type"]
        return status, headers, body

    monkeypatch.setattr(adapters, "moto_serialized", falling_back)
    monkeypatch.setattr(DynamoHandler, "serialized", compared)
    return taken


def test_dynamodb_answers_are_what_motos_serializer_makes_of_them(table: Any, answers: dict[str, list[str]]) -> None:
    rich = {
        **item("p", "1"),
        "flag": {"BOOL": True},
        "nothing": {"NULL": True},
        "count": {"N": "1"},
        "names": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "7"}, {"M": {}}]}, "empty": {"L": []}}},
    }
    table.put_item(TableName="t", Item=rich, ReturnConsumedCapacity="TOTAL")
    table.put_item(TableName="t", Item=item("p", "2", v="two"))
    assert table.get_item(TableName="t", Key=item("p", "1"))["Item"] == rich
    assert "Item" not in table.get_item(TableName="t", Key=item("p", "missing"))
    updated = table.update_item(
        TableName="t",
        Key=item("p", "1"),
        UpdateExpression="ADD #c :two SET v = :v",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":two": {"N": "2"}, ":v": {"S": "set"}},
        ReturnValues="ALL_NEW",
    )
    assert updated["Attributes"]["count"] == {"N": "3"}
    first_page = table.query(
        TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, Limit=1
    )
    assert first_page["LastEvaluatedKey"] == item("p", "1")
    assert len(table.scan(TableName="t", ReturnConsumedCapacity="TOTAL")["Items"]) == 2
    table.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": item("p", "3")}}])
    got = table.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": item("p", "3")}}])
    assert got["Responses"] == [{"Item": item("p", "3")}]
    batch = table.batch_get_item(RequestItems={"t": {"Keys": [item("p", "2"), item("p", "3")]}})
    assert len(batch["Responses"]["t"]) == 2
    table.batch_write_item(RequestItems={"t": [{"DeleteRequest": {"Key": item("p", "3")}}]})
    old = table.delete_item(TableName="t", Key=item("p", "2"), ReturnValues="ALL_OLD")
    assert old["Attributes"] == item("p", "2", v="two")
    with pytest.raises(table.exceptions.ConditionalCheckFailedException):
        table.put_item(TableName="t", Item=item("p", "1"), ConditionExpression="attribute_not_exists(pk)")

    assert set(answers["lean"]) == {
        "PutItem",
        "GetItem",
        "UpdateItem",
        "Query",
        "Scan",
        "TransactWriteItems",
        "TransactGetItems",
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
    }


def test_a_binary_attribute_is_answered_by_motos_serializer(table: Any, answers: dict[str, list[str]]) -> None:
    table.put_item(TableName="t", Item={**item("p", "b"), "blob": {"B": b"\x00\xffbytes"}})
    assert table.get_item(TableName="t", Key=item("p", "b"))["Item"]["blob"] == {"B": b"\x00\xffbytes"}
    assert "GetItem" in answers["moto"]


# ------------------------------------------------------------------------------------------ definitions parsed once
MAPPED = json.dumps(
    {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 4,
                "Iterator": {
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Pass", "Parameters": {"n.$": "$"}, "End": True}},
                },
                "End": True,
            }
        },
    }
)


def test_executions_of_one_definition_share_its_parse_and_keep_their_own_state(sfn: Any) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    adapters.faster_moto()
    assert AmazonStateLanguageParser.parse(MAPPED) is AmazonStateLanguageParser.parse(MAPPED)
    arn = sfn.create_state_machine(
        name="mapped", definition=MAPPED, roleArn="arn:aws:iam::123456789012:role/sfn", type="EXPRESS"
    )["stateMachineArn"]
    started = {
        sfn.start_execution(stateMachineArn=arn, name=f"e{n}", input=json.dumps({"items": list(range(n, n + 5))}))[
            "executionArn"
        ]: n
        for n in range(0, 60, 10)
    }

    def outputs() -> dict[str, Any] | None:
        found = {e["executionArn"]: e for e in adapters.executions(arn) if e["executionArn"] in started}
        if len(found) < len(started) or any(e["status"] == "RUNNING" for e in found.values()):
            return None
        return found

    finished = eventually(outputs, timeout=30)
    assert finished is not None
    for execution, n in started.items():
        assert finished[execution]["status"] == "SUCCEEDED"
        assert json.loads(finished[execution]["output"]) == [{"n": k} for k in range(n, n + 5)]


def test_a_components_heap_key_is_one_key_for_every_thread() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    adapters.faster_moto()
    program = AmazonStateLanguageParser.parse(MAPPED)[0]
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: program.heap_key, range(64)))
    assert len(keys) == 1


def test_an_update_expression_parsed_once_still_updates_each_item_with_its_own_values(table: Any) -> None:
    for n in range(3):
        table.update_item(
            TableName="t",
            Key=item("u", str(n)),
            UpdateExpression="SET v = :v ADD #c :one",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={":v": {"S": f"value-{n}"}, ":one": {"N": str(n + 1)}},
        )
    table.update_item(
        TableName="t",
        Key=item("u", "0"),
        UpdateExpression="SET v = :v ADD #c :one",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":v": {"S": "again"}, ":one": {"N": "5"}},
    )
    found = {f["sk"]["S"]: (f["v"]["S"], f["count"]["N"]) for f in everything(table)}
    assert found == {"0": ("again", "6"), "1": ("value-1", "2"), "2": ("value-2", "3")}
    for _ in range(2):  # refused every time, not only the first
        with pytest.raises(table.exceptions.ClientError, match="ValidationException"):
            table.update_item(
                TableName="t",
                Key=item("u", "0"),
                UpdateExpression="SET = :v",
                ExpressionAttributeValues={":v": {"S": "x"}},
            )


def test_in_process_a_request_to_moto_never_runs_beside_another(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    adapters.one_request_at_a_time()
    table.put_item(TableName="t", Item=item("s", "0"))
    inside = threading.Event()
    release = threading.Event()
    entered: list[str] = []
    real_get_item = DynamoDBBackend.get_item
    real_put_item = DynamoDBBackend.put_item

    def held_get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered.append("get")
        inside.set()
        assert release.wait(30), "the test never released the first request"
        return real_get_item(self, *args, **kwargs)

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered.append("put")
        return real_put_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "get_item", held_get_item)
    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)
    answers: dict[str, Any] = {}
    first = threading.Thread(target=lambda: answers.update(get=table.get_item(TableName="t", Key=item("s", "0"))))
    second = threading.Thread(target=lambda: answers.update(put=table.put_item(TableName="t", Item=item("s", "1"))))
    first.start()
    try:
        assert inside.wait(30)
        second.start()
        second.join(0.5)  # long enough for an unserialised put to run through moto; a serialised one waits
        assert entered == ["get"], "a second request reached moto while the first was inside it"
    finally:
        release.set()
    first.join(30)
    second.join(30)
    assert entered == ["get", "put"]
    assert answers["get"]["Item"] == item("s", "0") and "put" in answers
    assert len(everything(table)) == 2


def test_in_process_a_long_poll_lets_the_send_it_waits_for_through() -> None:
    import threading

    adapters.one_request_at_a_time()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        received: list[Any] = []
        poll = threading.Thread(
            target=lambda: received.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", []))
        )
        poll.start()
        sqs.send_message(QueueUrl=url, MessageBody="hello")  # would wait the poll's 20 s out if the poll held the lock
        poll.join(30)
        assert not poll.is_alive() and [m["Body"] for m in received] == ["hello"]
