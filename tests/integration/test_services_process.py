"""The AWS services in their own process (local/pollgate_local/services.py): correct under concurrency, SQS long
polls that wait without blocking anyone, IAM in front, the runtime's record of executions.

The services process is started as the runtime starts it; the template's roles are installed as the runtime
installs them. Talks to loopback only.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from pollgate_local.iam import PolicySet, PolicyTemplate
from pollgate_local.services import ServicesProcess
from pollgate_local.stack import LocalStack

from tests.helpers.waiting import eventually

ADMIN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def console() -> list[str]:
    return []


@pytest.fixture(scope="module")
def services(console: list[str]) -> Iterator[ServicesProcess]:
    process = ServicesProcess(lambda_url="http://127.0.0.1:9", echo=console.append)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def policies(services: ServicesProcess) -> PolicySet:
    stack = LocalStack()
    found = PolicyTemplate.translate(stack._source.template_dict, stack._source.parameters).resolve(stack._symbols())
    services.install_policies(found.to_json(), {})
    return found


def client(services: ServicesProcess, service: str, **credentials: Any) -> Any:
    make: Any = boto3.client
    return make(
        service,
        region_name="us-east-1",
        endpoint_url=services.url,
        config=NO_RETRIES,
        **(credentials or ADMIN),
    )


def test_transactions_and_scans_at_once_never_see_each_other_half_done(services: ServicesProcess) -> None:
    dynamodb = client(services, "dynamodb")
    dynamodb.create_table(
        TableName="busy",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )

    def write(worker: int) -> None:
        mine = client(services, "dynamodb")
        for n in range(20):
            mine.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "busy", "Item": {"pk": {"S": f"{worker}-{n}-{side}"}}}} for side in "ab"
                ]
            )
            mine.scan(TableName="busy", Select="COUNT")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))  # any error (moto's "dictionary changed size") is raised here
    assert dynamodb.scan(TableName="busy", Select="COUNT")["Count"] == 8 * 20 * 2


def test_calls_on_one_connection_keep_it_open_as_aws_endpoints_do(services: ServicesProcess) -> None:
    """An SDK reuses its connection from call to call (every sandbox's, on AWS as here): the endpoint keeps it."""
    request = AWSRequest(
        "POST",
        services.url + "/",
        data=b"{}",
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(
        Credentials(ADMIN["aws_access_key_id"], ADMIN["aws_secret_access_key"]), "dynamodb", "us-east-1"
    ).add_auth(request)
    address = urllib.parse.urlsplit(services.url)
    connection = http.client.HTTPConnection(str(address.hostname), address.port, timeout=10)
    try:
        sockets = []
        for _ in range(3):
            connection.request("POST", "/", body=b"{}", headers=dict(request.headers.items()))
            answer = connection.getresponse()
            assert answer.status == 200, answer.read()
            assert "TableNames" in answer.read().decode()
            assert (answer.getheader("Connection") or "").lower() != "close"
            sockets.append(connection.sock)
        assert sockets[0] is not None
        assert sockets == [sockets[0]] * 3  # http.client opens a new socket after an answer that closes
    finally:
        connection.close()


def test_a_long_poll_waits_without_the_lock_and_wakes_when_a_message_is_sent(services: ServicesProcess) -> None:
    sqs = client(services, "sqs")
    url = sqs.create_queue(QueueName="waiting")["QueueUrl"]
    received: list[Any] = []
    polling = threading.Thread(
        target=lambda: received.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15).get("Messages", []))
    )
    polling.start()
    # While the poll waits, the services answer everyone else.
    client(services, "dynamodb").list_tables()
    assert polling.is_alive()
    client(services, "sqs").send_message(QueueUrl=url, MessageBody="wake up")
    polling.join(15)
    assert not polling.is_alive()
    assert [message["Body"] for message in received[0]] == ["wake up"]


def test_a_long_poll_on_an_empty_queue_answers_empty_when_its_wait_ends(services: ServicesProcess) -> None:
    sqs = client(services, "sqs")
    url = sqs.create_queue(QueueName="empty")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_a_role_gets_what_its_policies_grant_and_is_refused_the_rest(
    services: ServicesProcess, policies: PolicySet, console: list[str]
) -> None:
    poll = policies.principal("UaiPollStatusLogFunction")
    signing = {
        "aws_access_key_id": poll.access_key_id,
        "aws_secret_access_key": poll.secret_access_key,
        "aws_session_token": poll.session_token,
    }
    dynamodb = client(services, "dynamodb", **signing)
    client(services, "dynamodb").create_table(
        TableName="pollgate-local-Table",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    key = {"pk": {"S": "OP#x"}, "sk": {"S": "OP"}}
    assert "Item" not in dynamodb.get_item(TableName="pollgate-local-Table", Key=key)  # granted: GetItem
    with pytest.raises(ClientError) as refused:
        dynamodb.delete_table(TableName="pollgate-local-Table")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "UaiPollStatusLogFunction" in refused.value.response["Error"]["Message"].replace("/", " ")
    # The console line comes through the services' output, read on a thread of its own.
    denied = "IAM denied UaiPollStatusLogFunction: dynamodb:DeleteTable on "
    eventually(lambda: any(line.startswith(denied) for line in console), timeout=10, what="the denial on the console")


def test_the_lock_statistics_count_every_request(services: ServicesProcess) -> None:
    before = services.lock_statistics()["requests"]
    client(services, "dynamodb").list_tables()
    assert services.lock_statistics()["requests"] == before + 1
