"""`make cost` prices what it measured the way AWS bills it: request units, rounding, CPU share, design choices."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost

DUE = [cost.Index("due", ("duePk", "dueAt"), "KEYS_ONLY")]


def call(
    operation: str,
    params: dict[str, Any],
    response: dict[str, Any] | None = None,
    items: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] | None = None,
) -> cost.Call:
    return cost.Call("F", "dynamodb", operation, 0.0, 0.001, params, response or {}, items or [])


def test_item_size_follows_dynamodb_rules() -> None:
    assert cost.item_size({"pk": {"S": "OP#1"}}) == 2 + 4
    assert cost.item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes, plus 1
    assert cost.item_size({"n": {"N": "1000"}}) == 1 + 2  # trailing zeros trimmed
    assert cost.item_size({"b": {"B": b"\x00" * 10}}) == 1 + 10
    assert cost.item_size({"t": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert cost.item_size({"m": {"M": {"ab": {"S": "xyz"}}}}) == 1 + 3 + 1 + 2 + 3
    assert cost.item_size({"l": {"L": [{"S": "a"}, {"S": "bc"}]}}) == 1 + 3 + (1 + 1) + (1 + 2)
    assert cost.item_size({"é": {"S": "é"}}) == 4  # UTF-8 bytes


def test_writes_cost_the_larger_item_per_started_kb_and_at_least_one_unit() -> None:
    small, big = {"pk": {"S": "a"}}, {"pk": {"S": "a" * 1500}}
    assert cost.dynamodb_units(call("PutItem", {}, items=[("Put", None, small)])) == (1, 0.0)
    assert cost.dynamodb_units(call("PutItem", {}, items=[("Put", None, big)])) == (2, 0.0)
    # An update that shrinks a big item still pays for the item as it was; a failed condition still costs.
    assert cost.dynamodb_units(call("UpdateItem", {}, items=[("Update", big, small)])) == (2, 0.0)
    assert cost.dynamodb_units(call("UpdateItem", {}, items=[("Update", small, small)])) == (1, 0.0)
    assert cost.dynamodb_units(call("DeleteItem", {}, items=[("Delete", big, None)])) == (2, 0.0)


def test_transactions_cost_double_and_index_entries_cost_their_own_writes() -> None:
    plain = {"pk": {"S": "a"}}
    due = {**plain, "duePk": {"S": "DUE#OP#1"}, "dueAt": {"S": "2026-01-01T00:00:00Z"}}
    later = {**due, "dueAt": {"S": "2026-01-01T00:05:00Z"}}
    assert cost.dynamodb_units(call("PutItem", {}, items=[("Put", None, due)]), DUE) == (2, 0.0)  # item + entry
    assert cost.dynamodb_units(call("UpdateItem", {}, items=[("Update", due, plain)]), DUE) == (2, 0.0)  # removed
    assert cost.dynamodb_units(call("UpdateItem", {}, items=[("Update", due, later)]), DUE) == (3, 0.0)  # moved
    assert cost.dynamodb_units(call("UpdateItem", {}, items=[("Update", due, due)]), DUE) == (1, 0.0)  # unchanged
    assert cost.dynamodb_units(
        call("TransactWriteItems", {}, items=[("Put", None, plain), ("Update", due, plain)]), DUE
    ) == (2 + 2 + 1, 0.0)


def test_reads_cost_per_started_4_kb_and_half_when_eventually_consistent() -> None:
    assert cost.dynamodb_units(call("GetItem", {"ConsistentRead": True}, {"Item": {"b": {"S": "x" * 5000}}})) == (
        0.0,
        2.0,
    )
    assert cost.dynamodb_units(call("GetItem", {}, {"Item": {"pk": {"S": "a"}}})) == (0.0, 0.5)
    assert cost.dynamodb_units(call("GetItem", {}, {})) == (0.0, 0.5)  # not found still reads
    assert cost.dynamodb_units(
        call("Query", {"ConsistentRead": True}, {"Items": [{"b": {"S": "x" * 3000}}, {"b": {"S": "x" * 3000}}]})
    ) == (0.0, 2.0)


def test_written_keys_name_every_item_a_write_touches() -> None:
    key = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    assert cost._written_keys("PutItem", {"TableName": "t", "Item": {**key, "x": {"S": "1"}}}) == [("Put", "t", key)]
    assert cost._written_keys("UpdateItem", {"TableName": "t", "Key": key}) == [("Update", "t", key)]
    assert cost._written_keys(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": {**key, "x": {"S": "1"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": key}},
            ]
        },
    ) == [("Put", "t", key), ("ConditionCheck", "t", key)]


MEASURED = cost.Measured(
    own_ms={"Submit": 10.0, "Poll": 5.0, "Worker": 8.0, cost.DELIVERY: 20.0},
    invocations={"Submit": 1.0, "Poll": 3.0, "Worker": 3.0, cost.DELIVERY: 1.0},
    latency_ms={"Submit": 30.0, "Poll": 5.0, "Worker": 10.0, cost.DELIVERY: 210.0},
    write_units=10.0,
    read_units=4.0,
    sqs_requests=3.0,
    transitions=4.0,
    log_bytes=1000.0,
    operations=1,
    init_ms={"Submit": 300.0, "Poll": 300.0, "Worker": 300.0, cost.DELIVERY: 300.0},
)
SCENARIO = cost.Scenario("s", "S", "Machine", ("Submit", "Poll"), "Worker", 4, True)
OURS = cost.Design(
    "pollgate",
    dict.fromkeys(MEASURED.invocations, 256),
    "arm64",
    "http",
    {"Machine": "EXPRESS"},
    platform_log_bytes=0,
    traced=frozenset({"Submit", "Worker", cost.DELIVERY}),
)


def test_naive_design_is_rest_standard_x86_1024_mb_platform_lines_and_every_function_traced() -> None:
    naive = cost.naive_design(OURS)
    assert (naive.api, naive.workflow, naive.architecture) == ("rest", {"Machine": "STANDARD"}, "x86_64")
    assert set(naive.memory_mb.values()) == {1024}
    assert naive.platform_log_bytes == cost.PLATFORM_LOG_BYTES and naive.traced is None


def test_lambda_time_is_own_code_at_the_memory_cpu_share_plus_call_latency() -> None:
    assert cost.lambda_ms(MEASURED, OURS, "Submit") == pytest.approx(10.0 * 1769 / 256 + 30.0, abs=1)
    assert cost.lambda_ms(MEASURED, cost.naive_design(OURS), "Submit") == pytest.approx(10 * 1769 / 1024 + 30, abs=1)
    assert cost.init_ms(MEASURED, OURS, "Submit") == pytest.approx(300 * 1769 / 256, abs=1)


def test_line_items_per_million_operations() -> None:
    naive_design = cost.naive_design(OURS)
    ours = cost.cost_per_million(MEASURED, OURS, SCENARIO)
    naive = cost.cost_per_million(MEASURED, naive_design, SCENARIO)
    assert ours["API Gateway (HTTP API)"] == pytest.approx(4.00)  # one submit and three polls
    assert naive["API Gateway (REST API)"] == pytest.approx(14.00)
    assert naive["Step Functions (Standard)"] == pytest.approx(4 * 25.0)
    # Express: $1 per million executions, and 64 MB for the worker time rounded up to 100 ms.
    billed_ms = -(-(3 * cost.lambda_ms(MEASURED, OURS, "Worker") + 4 * cost.EXPRESS_STATE_OVERHEAD_MS) // 100) * 100
    assert ours["Step Functions (Express)"] == pytest.approx(1.0 + billed_ms / 1000 / 16 * 16.67)
    assert ours["DynamoDB (on demand)"] == pytest.approx(10 * 0.625 + 4 * 0.125)
    assert ours["SQS"] == pytest.approx(3 * 0.40)
    assert ours["Lambda requests"] == naive["Lambda requests"] == pytest.approx(8 * 0.20)
    # Only the submit is traced here (the polls pass through); naive traces all four requests, 5% recorded.
    assert ours["X-Ray"] == pytest.approx(1 * 0.05 * 5.0)
    assert naive["X-Ray"] == pytest.approx(4 * 0.05 * 5.0)
    assert ours["CloudWatch Logs"] == pytest.approx(1000 / 1e9 * 0.5 * 1e6)
    assert naive["CloudWatch Logs"] == pytest.approx((1000 + 8 * cost.PLATFORM_LOG_BYTES) / 1e9 * 0.5 * 1e6)
    init_gb_s = sum(
        n * cost.COLD_START_RATE * cost.init_ms(MEASURED, OURS, f) / 1000 / 4 for f, n in MEASURED.invocations.items()
    )
    assert ours[f"Lambda INIT ({cost.COLD_START_RATE:.0%} cold)"] == pytest.approx(init_gb_s * 13.3334)


def test_the_template_is_read_for_what_it_prices() -> None:
    design = cost.template_design()
    assert design.api == "http" and design.architecture == "arm64"
    assert set(design.workflow.values()) == {"EXPRESS"}
    assert cost.table_indexes() == [cost.Index("due", ("duePk", "dueAt"), "KEYS_ONLY")]
