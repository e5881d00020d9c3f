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
