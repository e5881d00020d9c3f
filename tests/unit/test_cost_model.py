"""`make cost` prices what it measured the way AWS bills it: request units, rounding, CPU share, design choices."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost


def call(operation: str, params: dict[str, Any], response: dict[str, Any] | None = None) -> cost.Call:
    return cost.Call("lambda-F", "dynamodb", operation, 0.0, 0.001, params, response or {})


def test_dynamodb_units_follow_item_size_consistency_transactions_and_the_index() -> None:
    small, big = {"pk": {"S": "a"}}, {"pk": {"S": "a" * 1500}}
    assert cost.dynamodb_units(call("PutItem", {"Item": small})) == (1, 0.0)
    assert cost.dynamodb_units(call("PutItem", {"Item": big})) == (2, 0.0)
    assert cost.dynamodb_units(call("PutItem", {"Item": {**small, "duePk": {"S": "DUE#OP#1"}}})) == (2, 0.0)
    assert cost.dynamodb_units(call("UpdateItem", {"UpdateExpression": "SET a = :a"}, {"Attributes": big})) == (2, 0.0)
    assert cost.dynamodb_units(call("TransactWriteItems", {"TransactItems": [
        {"Put": {"Item": small}}, {"Update": {"UpdateExpression": "SET s = :s REMOVE duePk, dueAt"}}]})) == (5, 0.0)
    assert cost.dynamodb_units(call("GetItem", {"ConsistentRead": True}, {"Item": {"b": {"S": "x" * 5000}}})) \
        == (0.0, 2.0)
    assert cost.dynamodb_units(call("GetItem", {}, {"Item": small})) == (0.0, 0.5)
    assert cost.dynamodb_units(call("Query", {}, {"Items": []})) == (0.0, 0.5)


MEASURED = cost.Measured(
    own_ms={cost.SUBMIT: 10.0, cost.POLL: 5.0, cost.WORKER: 8.0, cost.DELIVERY: 20.0},
    invocations={cost.SUBMIT: 1.0, cost.POLL: 3.0, cost.WORKER: 3.0, cost.DELIVERY: 1.0},
    latency_ms={cost.SUBMIT: 30.0, cost.POLL: 5.0, cost.WORKER: 10.0, cost.DELIVERY: 210.0},
    write_units=10.0, read_units=4.0, sqs_requests=3.0, transitions=4.0, log_bytes=1000.0, operations=1,
)
OURS = cost.Design("pollgate", dict.fromkeys(MEASURED.invocations, 256), "arm64", "http", "EXPRESS")


def test_naive_design_is_rest_standard_x86_and_1024_mb() -> None:
    naive = cost.naive_design(OURS)
    assert (naive.api, naive.workflow, naive.architecture) == ("rest", "STANDARD", "x86_64")
    assert set(naive.memory_mb.values()) == {1024}


def test_lambda_time_is_own_code_at_the_memory_cpu_share_plus_call_latency() -> None:
    assert cost.lambda_ms(MEASURED, OURS, cost.SUBMIT) == pytest.approx(10.0 * 1769 / 256 + 30.0, abs=1)
    assert cost.lambda_ms(MEASURED, cost.naive_design(OURS), cost.SUBMIT) == pytest.approx(10 * 1769 / 1024 + 30, abs=1)


def test_line_items_per_million_operations() -> None:
    ours, naive = cost.cost_per_million(MEASURED, OURS), cost.cost_per_million(MEASURED, cost.naive_design(OURS))
    assert ours["API Gateway (HTTP API)"] == pytest.approx(4.00)  # one submit and three polls
    assert naive["API Gateway (REST API)"] == pytest.approx(14.00)
    assert naive["Step Functions (Standard)"] == pytest.approx(4 * 25.0)
    # Express: $1 per million executions, and 64 MB for the worker time rounded up to 100 ms.
    billed_ms = -(-(3 * cost.lambda_ms(MEASURED, OURS, cost.WORKER) + 4 * cost.EXPRESS_STATE_OVERHEAD_MS) // 100) * 100
    assert ours["Step Functions (Express)"] == pytest.approx(1.0 + billed_ms / 1000 / 16 * 16.67)
    assert ours["DynamoDB (on demand)"] == pytest.approx(10 * 0.625 + 4 * 0.125)
    assert ours["SQS"] == pytest.approx(3 * 0.40)
    assert ours["Lambda requests"] == naive["Lambda requests"] == pytest.approx(8 * 0.20)
