"""`make cost`: the AWS list-price cost of one million asynchronous operations, pollgate against a naive design.

Two scenarios, each the whole life of one operation as a client of its face lives it:
- ThingSpace device action: one submit, three status polls, the workflow, one CarrierService callback (through
  the webhook queue and the delivery function);
- UAI status log: one submit, two polls, the workflow that records the report.

Measured, by running the template's own functions on moto (the local runtime, in process), from the requests
the code actually makes (botocore event hooks on the session every client comes from):
- DynamoDB read and write units of every request, by DynamoDB's own rules: the item's size (attribute names
  plus values, as DynamoDB sizes them) before and after each write (read back from moto around the request),
  per started 1 KB written and 4 KB read, eventually consistent reads half, transactions double, and the
  `due` index's own writes when a write adds, moves or removes an item's index entry;
- each function's time in its own code per invocation (wall time minus the time spent inside moto serving its
  AWS calls), scaled to the CPU share Lambda gives its memory size (one vCPU at 1,769 MB, proportionally less
  below), plus a typical in-region latency for each AWS call it made (LATENCY_MS: stated, not measured);
- invocations, SQS requests, workflow state transitions (from the execution history), bytes logged (everything
  the functions printed);
- each function's cold init (a fresh interpreter importing it and making its client, as bench_cold_start does),
  billed (Lambda bills INIT since August 2025) for COLD_START_RATE of invocations.

Read from template.yaml: each function's memory and architecture, HTTP API or REST API, Express or Standard,
DynamoDB billing mode and indexes, standard or FIFO queue, Lambda's system log level (platform lines), the X-Ray
sampling rule. The naive design is the same code and the same calls on a REST API, a Standard workflow, x86_64,
1,024 MB for every function, and AWS's defaults for the rest (platform log lines; X-Ray's default sampling rule).

Not counted (the same in both designs, or not proportional to operations): storage, PITR backups, the
schedules (sweeper, retrier, scheduler: about 130,000 invocations a month in all), SQS long polling while
idle, alarms and dashboard (fixed monthly: about $5), data transfer, free tiers.
"""

from __future__ import annotations

import base64
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

PRICES_REGION = "us-east-1"
# List prices as published on the AWS pricing pages named beside each, as I know them (from 2025; these pages
# could not be fetched from here, so check them before quoting a figure). First pricing tier; no free tier.
PRICES_DATE = "2025 (AWS pricing pages, recalled; not fetched live)"
PRICES: dict[str, tuple[float, str, str]] = {
    "http_api_request": (1.00e-6, "per request (first 300 M/month)", "https://aws.amazon.com/api-gateway/pricing/"),
    "rest_api_request": (3.50e-6, "per request (first 333 M/month)", "https://aws.amazon.com/api-gateway/pricing/"),
    "lambda_request": (0.20e-6, "per invocation", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second_arm64": (
        0.0000133334,
        "per GB-second (INIT billed alike since August 2025)",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "lambda_gb_second_x86_64": (
        0.0000166667,
        "per GB-second (INIT billed alike since August 2025)",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "express_request": (1.00e-6, "per execution", "https://aws.amazon.com/step-functions/pricing/"),
    "express_gb_second": (
        0.00001667,
        "per GB-second, 64 MB steps, 100 ms steps",
        "https://aws.amazon.com/step-functions/pricing/",
    ),
    "standard_transition": (0.025e-3, "per state transition", "https://aws.amazon.com/step-functions/pricing/"),
    "dynamodb_write_unit": (
        0.625e-6,
        "per on-demand write request unit",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_read_unit": (
        0.125e-6,
        "per on-demand read request unit",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "sqs_request": (0.40e-6, "per standard-queue request (64 KB)", "https://aws.amazon.com/sqs/pricing/"),
    "sqs_fifo_request": (0.50e-6, "per FIFO-queue request (64 KB)", "https://aws.amazon.com/sqs/pricing/"),
    "log_ingestion_gb": (0.50, "per GB ingested (standard class)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": (5.00e-6, "per trace recorded", "https://aws.amazon.com/xray/pricing/"),
}

# Typical in-region latency of each AWS call, as seen from a Lambda function (stated, not measured: moto answers
# in process). The webhook receiver's answer time is the listener's, not ours; 200 ms is a middling one.
LATENCY_MS = {
    "dynamodb": 5.0,
    "dynamodb.TransactWriteItems": 12.0,
    "stepfunctions": 25.0,
    "sqs": 8.0,
    "secretsmanager": 25.0,
    "s3": 20.0,
}
WEBHOOK_RECEIVER_MS = 200.0
# What Lambda adds to the logs per invocation at system log level INFO, JSON format (platform.start and
# platform.report); at WARN it sends neither (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
PLATFORM_LOG_BYTES = 500
# Lambda's active tracing samples the first request each second and 5% of the rest (at volume, 5%); unlike API
# Gateway's REST APIs and Step Functions it takes no sampling rule (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html).
XRAY_LAMBDA_RATE = 0.05
# Step Functions bills Express time from the start of each state; this is its own overhead per state.
EXPRESS_STATE_OVERHEAD_MS = 10.0
LAMBDA_FULL_VCPU_MB = 1769
SQS_EVENT_SOURCE_REQUESTS = 2  # per message: the poller's ReceiveMessage and DeleteMessage(Batch) share
# Stated, not measured: the share of invocations that start a new execution environment (scaling out, the
# recycling of idle ones). A million operations a month is under one a second, so environments stay warm.
COLD_START_RATE = 0.01
COLD_INIT_RUNS = 3  # best of (bench_cold_start takes 7)
OPERATIONS = 12  # measured after one warm-up operation; the median of each figure is kept

# DynamoDB's sizing (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096

ACCOUNT = "0000123456-00001"
DELIVERY = "WebhookDeliveryFunction"
QUEUE = "WebhookQueue"


# ------------------------------------------------------------------------------------------ scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    machine: str  # the state machine of its workflow
    api_functions: tuple[str, ...]  # behind the face's API: their kind (HTTP or REST) is priced
    worker: str  # the workflow's task function (Express bills its time)
    requests: int  # API requests the client makes per operation
    delivers_webhook: bool


THINGSPACE = Scenario(
    name="thingspace",
    title="ThingSpace device action: 1 submit, 3 polls, the workflow, 1 CarrierService callback",
    machine="ThingSpaceDeviceActionStateMachine",
    api_functions=("ThingSpaceDeviceActionFunction", "ThingSpaceRequestStatusFunction"),
    worker="ThingSpaceDeviceActionWorkerFunction",
    requests=4,
    delivers_webhook=True,
)
UAI = Scenario(
    name="uai",
    title="UAI status log: 1 submit, 2 polls, the workflow",
    machine="UaiStatusLogStateMachine",
    api_functions=("UaiSubmitStatusLogFunction", "UaiPollStatusLogFunction"),
    worker="UaiStatusLogWorkerFunction",
    requests=3,
    delivers_webhook=False,
)
SCENARIOS = (THINGSPACE, UAI)


# ------------------------------------------------------------------------------------------- template


@dataclass(frozen=True)
class Design:
    """The settings that price an operation."""

    name: str
    memory_mb: dict[str, int]
    architecture: str
    api: str  # "http" or "rest"
    workflow: dict[str, str]  # state machine -> "EXPRESS" or "STANDARD"
    fifo_queue: bool = False
    platform_log_bytes: int = PLATFORM_LOG_BYTES  # per invocation
    # Functions with active tracing: each request to one starts a trace, which Lambda samples at its fixed rate (the
    # first request each second and 5% of the rest: Lambda takes no sampling rule). What they call joins their
    # trace (Step Functions, and SQS through AWSTraceHeader), so only the API requests start traces here.
    traced: frozenset[str] | None = None  # None: every function


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # KEYS_ONLY, INCLUDE or ALL
    projected: tuple[str, ...] = ()


def _template() -> dict[str, Any]:
    from samcli.yamlhelper import yaml_parse

    parsed: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
    return parsed


def table_indexes(template: dict[str, Any] | None = None) -> list[Index]:
    properties = (template or _template())["Resources"]["Table"]["Properties"]
    return [
        Index(
            index["IndexName"],
            tuple(k["AttributeName"] for k in index["KeySchema"]),
            index["Projection"]["ProjectionType"],
            tuple(index["Projection"].get("NonKeyAttributes", [])),
        )
        for index in properties.get("GlobalSecondaryIndexes", [])
    ]


def _system_log_level(template: dict[str, Any]) -> str:
    """Lambda's system log level for the template's default LogLevel (through its LambdaLogLevels mapping)."""
    config = template.get("Globals", {}).get("Function", {}).get("LoggingConfig", {})
    level = config.get("SystemLogLevel", "INFO")
    if isinstance(level, dict) and "Fn::FindInMap" in level:
        mapping, top, second = level["Fn::FindInMap"]
        default = template["Parameters"][top["Ref"]]["Default"] if isinstance(top, dict) else top
        level = template["Mappings"][mapping][default][second]
    return str(level)


def template_design(template: dict[str, Any] | None = None) -> Design:
    template = template or _template()
    globals_function = template.get("Globals", {}).get("Function", {})
    resources = template["Resources"]
    functions = {
        name: resource for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"
    }
    memory = {
        name: int(resource["Properties"].get("MemorySize", globals_function.get("MemorySize", 128)))
        for name, resource in functions.items()
    }
    architectures = {
        str(a)
        for resource in functions.values()
        for a in resource["Properties"].get("Architectures", globals_function.get("Architectures", ["x86_64"]))
    }
    if len(architectures) != 1:
        raise SystemExit(f"the cost model wants one architecture for every function, found {architectures}")
    api_kinds = set()
    for scenario in SCENARIOS:
        for name in scenario.api_functions:
            for event in resources[name]["Properties"].get("Events", {}).values():
                api_kinds.add({"HttpApi": "http", "Api": "rest"}[event["Type"]])
    if len(api_kinds) != 1:
        raise SystemExit(f"the measured functions are behind {api_kinds}; the model prices one kind")
    billing = resources["Table"]["Properties"].get("BillingMode", "PROVISIONED")
    if billing != "PAY_PER_REQUEST":
        raise SystemExit(f"the cost model prices DynamoDB on demand; the table is {billing}")
    level = _system_log_level(template)
    return Design(
        name="pollgate",
        memory_mb=memory,
        architecture=architectures.pop(),
        api=api_kinds.pop(),
        workflow={
            s.machine: str(resources[s.machine]["Properties"].get("Type", "STANDARD")).upper() for s in SCENARIOS
        },
        fifo_queue=bool(resources[QUEUE]["Properties"].get("FifoQueue", False)),
        platform_log_bytes=0 if level in {"WARN", "ERROR", "FATAL"} else PLATFORM_LOG_BYTES,
        traced=frozenset(
            name
            for name, resource in functions.items()
            if resource["Properties"].get("Tracing", globals_function.get("Tracing")) == "Active"
        ),
    )


def naive_design(measured: Design) -> Design:
    return Design(
        name="naive",
        memory_mb=dict.fromkeys(measured.memory_mb, 1024),
        architecture="x86_64",
        api="rest",
        workflow=dict.fromkeys(measured.workflow, "STANDARD"),
        fifo_queue=measured.fifo_queue,
    )


# ---------------------------------------------------------------------------------- DynamoDB sizing


def _number_size(text: str) -> int:
    """About 1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed)."""
    digits = str(Decimal(text).normalize()).lstrip("-").split("E")[0].replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB bills for one attribute value (in its wire form, {"S": ...}, {"M": {...}}, ...)."""
    [(kind, body)] = value.items()
    if kind == "S":
        return len(str(body).encode())
    if kind == "N":
        return _number_size(str(body))
    if kind == "B":
        return len(bytes(getattr(body, "value", body)))
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in body)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in body)
    if kind == "BS":
        return sum(len(bytes(v)) for v in body)
    if kind == "L":  # 3 bytes of overhead, 1 per element
        return 3 + sum(1 + value_size(v) for v in body)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in body.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    """An item's size as DynamoDB bills it: each attribute's name (UTF-8) plus its value."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def _index_entry(index: Index, item: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    if not item or any(key not in item for key in index.keys):
        return None
    if index.projection == "KEYS_ONLY":
        projected: tuple[str, ...] = ()
    elif index.projection == "INCLUDE":
        projected = index.projected
    else:
        projected = tuple(sorted(item))
    return tuple(json.dumps(item.get(name), sort_keys=True, default=str) for name in (*index.keys, *projected))


def index_write_units(indexes: list[Index], before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
    """Writes to the indexes: an entry added or removed is one write, a moved key a delete and a put, a changed
    projected attribute one write (each entry here well under 1 KB)."""
    units = 0
    for index in indexes:
        old, new = _index_entry(index, before), _index_entry(index, after)
        if old == new:
            continue
        if old is not None and new is not None and old[: len(index.keys)] == new[: len(index.keys)]:
            units += 1  # same keys, other projected values: the entry is rewritten
        else:
            units += (old is not None) + (new is not None)
    return units


def write_units(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
    """A write costs the larger of the item before and after it, per started KB (1 at least, even when its
    condition failed and nothing changed)."""
    return max(1, math.ceil(max(item_size(before), item_size(after)) / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    return (1.0 if consistent else 0.5) * max(1, math.ceil(size / READ_UNIT_BYTES))


# --------------------------------------------------------------------------------------- measurement


@dataclass
class Call:
    function: str | None
    service: str
    operation: str
    started: float
    seconds: float
    params: dict[str, Any]
    response: dict[str, Any]
    # For DynamoDB writes: each item the call wrote, as (before, after) read back from moto around the call.
    items: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)


def dynamodb_units(call: Call, indexes: list[Index] | None = None) -> tuple[float, float]:
    """(write units, read units) one call consumed on demand."""
    op, params, response = call.operation, call.params, call.response
    indexes = indexes or []
    if op in {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}:
        factor = 2 if op == "TransactWriteItems" else 1
        units = 0.0
        for kind, before, after in call.items:
            units += factor * write_units(before, after)
            if kind != "ConditionCheck":
                units += index_write_units(indexes, before, after)
        return units, 0.0
    consistent = bool(params.get("ConsistentRead"))
    if op == "GetItem":
        return 0.0, read_units(item_size(response.get("Item")), consistent=consistent)
    if op in {"Query", "Scan"}:
        return 0.0, read_units(sum(item_size(item) for item in response.get("Items", [])), consistent=consistent)
    if op == "BatchGetItem":
        units = 0.0
        for table, found in response.get("Responses", {}).items():
            strong = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            units += sum(read_units(item_size(item), consistent=strong) for item in found)
        return 0.0, units
    if op == "TransactGetItems":
        return 0.0, sum(
            2 * read_units(item_size(r.get("Item")), consistent=True) for r in response.get("Responses", [])
        )
    return 0.0, 0.0


def _written_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, table, key) of every item a DynamoDB write request names."""

    def key_of(item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in ("pk", "sk") if name in item}

    if operation == "PutItem":
        return [("Put", params["TableName"], key_of(params["Item"]))]
    if operation in {"UpdateItem", "DeleteItem"}:
        return [(operation.removesuffix("Item"), params["TableName"], params["Key"])]
    if operation == "TransactWriteItems":
        found = []
        for entry in params.get("TransactItems", []):
            [(kind, body)] = entry.items()
            found.append((kind, body["TableName"], body["Key"] if "Key" in body else key_of(body["Item"])))
        return found
    if operation == "BatchWriteItem":
        return [
            (
                "Put" if "PutRequest" in r else "Delete",
                table,
                key_of(r["PutRequest"]["Item"]) if "PutRequest" in r else r["DeleteRequest"]["Key"],
            )
            for table, requests in params.get("RequestItems", {}).items()
            for r in requests
        ]
    return []


@dataclass
class Invocation:
    function: str
    started: float
    seconds: float


@dataclass
class Recorder:
    """Every AWS call a function made, and every invocation, with their times. DynamoDB writes are bracketed by
    reads (through a client of its own, not hooked) of the items they touch, counted as time in moto."""

    calls: list[Call] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reader: Any = None

    def before_parameters(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["cost_params"] = dict(params)

    def before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        context["cost_started"] = time.perf_counter()
        if model.service_model.endpoint_prefix == "dynamodb" and self.reader is not None:
            keys = _written_keys(model.name, context.get("cost_params", {}))
            context["cost_before"] = [(kind, table, key, self._read(table, key)) for kind, table, key in keys]

    def after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        started = context.get("cost_started")
        if started is None:
            return
        written = [
            (kind, before, self._read(table, key)) for kind, table, key, before in context.get("cost_before", [])
        ]
        call = Call(
            _current_function(),
            model.service_model.endpoint_prefix,
            model.name,
            started,
            time.perf_counter() - started,
            context.get("cost_params", {}),
            parsed,
            written,
        )
        with self.lock:
            self.calls.append(call)

    def _read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self.reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.invocations.clear()


def _current_function() -> str | None:
    """The function whose code made the call: the handler's context (the webhook consumer's threads carry a copy
    of it), else its thread's name."""
    from pollgate_local.functions import running_function

    function = running_function.get()
    if function is not None:
        return str(function.logical_id)
    thread = threading.current_thread().name
    if thread.startswith("webhook"):
        return DELIVERY
    if thread.startswith("lambda-") and thread != "lambda-invoke":
        return thread.removeprefix("lambda-")
    return None


@dataclass
class Measured:
    """Per operation (medians over the measured operations)."""

    own_ms: dict[str, float]  # function -> time in its own code per invocation
    invocations: dict[str, float]  # function -> invocations per operation
    latency_ms: dict[str, float]  # function -> stated AWS latency of its calls per invocation
    write_units: float
    read_units: float
    sqs_requests: float
    transitions: float
    log_bytes: float
    operations: int
    units_by_function: dict[str, tuple[float, float]] = field(default_factory=dict)  # (write, read) units
    init_ms: dict[str, float] = field(default_factory=dict)  # function -> cold init on this machine's core


@contextmanager
def _captured_output() -> Iterator[list[int]]:
    """Everything written to file descriptors 1 and 2 (every thread's logs), counted, not shown."""
    size = [0]
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield size
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            size[0] = os.fstat(sink.fileno()).st_size


def _latency(call: Call) -> float:
    return LATENCY_MS.get(f"{call.service}.{call.operation}", LATENCY_MS.get(call.service, 10.0))


def measure(
    operations: int = OPERATIONS, scenarios: tuple[Scenario, ...] = SCENARIOS, cold_init: bool = True
) -> dict[str, Measured]:
    """Run `operations` of each scenario (after one warm-up each) through the template's functions on moto."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "1",
            "TABLE_NAME": "pollgate-cost",
        }
    )
    import boto3
    from moto import mock_aws
    from pollgate import aws, settings
    from pollgate.thingspace.auth import forget_cached_bearers
    from pollgate_local.functions import LocalFunction
    from pollgate_local.stack import MOTO_CONFIG, LocalStack
    from pytest_httpserver import HTTPServer

    recorder = Recorder()
    indexes = table_indexes()
    settings.reset_settings()
    forget_cached_bearers()

    original_invoke = LocalFunction.invoke

    def timed_invoke(self: LocalFunction, event: Any, **options: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_invoke(self, event, **options)
        finally:
            with recorder.lock:
                recorder.invocations.append(Invocation(self.logical_id, started, time.perf_counter() - started))

    listener = HTTPServer(host="127.0.0.1", port=0)
    listener.start()
    listener.expect_request("/callback").respond_with_data("ok")
    LocalFunction.invoke = timed_invoke  # type: ignore[method-assign]
    results: dict[str, Measured] = {}
    try:
        with (
            mock_aws(config=MOTO_CONFIG),
            LocalStack(parameters={"WebhookAllowHosts": "127.0.0.1", "LogLevel": "INFO"}) as stack,
        ):
            # moto replaces boto3's default session while it mocks: hook the one every client now comes from.
            boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
            assert session is not None
            recorder.reader = boto3.session.Session(region_name="us-east-1").client("dynamodb")
            session.events.register("before-parameter-build", recorder.before_parameters)
            session.events.register("before-call", recorder.before_call)
            session.events.register("after-call", recorder.after_call)
            aws.reset_clients()
            stack.provision()
            stack.start_invoke_server()
            for scenario in scenarios:
                with _captured_output():
                    flow = _FLOWS[scenario.name](stack, listener.url_for("/callback"))
                    flow.operation(0)  # warm-up: every function's cold start, not counted
                per_operation: list[Measured] = []
                for number in range(1, operations + 1):
                    recorder.clear()
                    with _captured_output() as logged:
                        transitions = flow.operation(number)
                    per_operation.append(_tally(recorder, indexes, transitions, logged[0]))
                results[scenario.name] = _median(per_operation)
    finally:
        LocalFunction.invoke = original_invoke  # type: ignore[method-assign]
        listener.stop()
        forget_cached_bearers()
    if cold_init:
        for measured in results.values():
            measured.init_ms = cold_init_ms(sorted(measured.invocations))
    return results


def cold_init_ms(functions: list[str]) -> dict[str, float]:
    """Each function's cold init (import its app, make its client) in a fresh interpreter, best of a few runs."""
    from bench.bench_cold_start import init_seconds

    template = _template()["Resources"]
    found = {}
    for function in functions:
        folder = ROOT / str(template[function]["Properties"]["CodeUri"])
        found[function] = init_seconds(folder, COLD_INIT_RUNS) * 1000
    return found


class _Flow:
    def __init__(self, stack: Any) -> None:
        from tests.aws_fixtures import http_event

        self.stack, self.event = stack, http_event

    def call(self, function: str, method: str, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        answer = self.stack.invoke(function, self.event(method, path, **kwargs))
        if answer["statusCode"] != status:
            raise RuntimeError(f"{function} answered {answer['statusCode']}: {answer.get('body')}")
        return json.loads(answer["body"])

    def transitions(self, machine: str, execution_name: str) -> int:
        arn = self.stack.provisioned.state_machines[machine]
        execution = arn.replace(":stateMachine:", ":execution:") + f":{execution_name}"
        if self.stack.wait_for_execution(execution, timeout=30)["status"] != "SUCCEEDED":
            raise RuntimeError(f"the workflow {execution_name} did not succeed")
        # Express workflows have no GetExecutionHistory: the runtime's own record has the events.
        [record] = [e for e in self.stack.executions(arn, history=True) if e["executionArn"] == execution]
        return sum(1 for event in record["events"] if event["type"].endswith("StateEntered"))


class _ThingSpaceFlow(_Flow):
    """A client of the ThingSpace face: token and session once, then device actions with a callback."""

    def __init__(self, stack: Any, callback_url: str) -> None:
        from pollgate.thingspace.auth import CredentialStore
        from pollgate.thingspace.inventory import InventoryStore

        super().__init__(stack)
        credentials, self.inventory = CredentialStore(), InventoryStore()
        self.inventory.add_account(ACCOUNT)
        credentials.add_client("client", "client-secret")
        credentials.add_user("alice", "alice-password", [ACCOUNT])
        basic = base64.b64encode(b"client:client-secret").decode()
        access = self.call(
            "ThingSpaceOAuthTokenFunction",
            "POST",
            "/api/ts/v1/oauth2/token",
            body="grant_type=client_credentials",
            headers={"content-type": "application/x-www-form-urlencoded", "authorization": f"Basic {basic}"},
        )["access_token"]
        session = self.call(
            "ThingSpaceSessionLoginFunction",
            "POST",
            "/api/m2m/v1/session/login",
            body={"username": "alice", "password": "alice-password"},
            headers={"authorization": f"Bearer {access}"},
        )["sessionToken"]
        self.headers = {"authorization": f"Bearer {access}", "vz-m2m-token": session}
        self.call(
            "ThingSpaceRegisterCallbackFunction",
            "POST",
            f"/api/m2m/v1/callbacks/{ACCOUNT}",
            route="/api/m2m/v1/callbacks/{accountname}",
            path_parameters={"accountname": ACCOUNT},
            headers=self.headers,
            body={"name": "CarrierService", "url": callback_url},
        )

    def operation(self, number: int) -> int:
        """Submit, poll three times, let the workflow finish, deliver the callback; the transitions it took."""
        imei = f"99000086247{number:04d}"
        self.inventory.add_device(ACCOUNT, {"imei": imei})
        submit, poll = THINGSPACE.api_functions
        request_id = self.call(
            submit,
            "POST",
            "/api/m2m/v1/devices/actions/activate",
            headers=self.headers,
            body={
                "accountName": ACCOUNT,
                "servicePlan": "M2M_4G",
                "devices": [{"deviceIds": [{"kind": "imei", "id": imei}]}],
            },
        )["requestId"]
        status_path = f"/api/m2m/v1/accounts/{ACCOUNT}/requests/{request_id}/status"
        transitions = 0
        for number_of_poll in range(3):  # the first while the workflow runs, the others once it has finished
            self.call(
                poll,
                "GET",
                status_path,
                headers=self.headers,
                route="/api/m2m/v1/accounts/{accountname}/requests/{requestID}/status",
                path_parameters={"accountname": ACCOUNT, "requestID": request_id},
            )
            if number_of_poll == 0:
                transitions = self.transitions(THINGSPACE.machine, f"{request_id}-1")
        self._deliver()
        return transitions

    def _deliver(self) -> None:
        import boto3
        from pollgate_local.events import sqs_event

        sqs = boto3.client("sqs")
        queue_url = self.stack.provisioned.queues[QUEUE]
        for _ in range(5):  # bounded: one callback per operation
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            records = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q")["Records"]
            for record, message in zip(records, messages, strict=True):  # one message per invocation: the worst
                self.stack.invoke(DELIVERY, {"Records": [record]})
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


class _UaiFlow(_Flow):
    """A device of the UAI face: the operator uploads the key pair's public half once, then status reports."""

    def __init__(self, stack: Any, callback_url: str) -> None:
        from tests.conftest import DeviceKey

        super().__init__(stack)
        self.key = DeviceKey()
        admin = stack.provisioned.secret_values["AdminSecret"]
        self.call(
            "UaiUploadKeyFunction",
            "PUT",
            "/flexnet/operations/api/updates/update-authorization-key",
            body={"publicKey": self.key.public_b64},
            headers={"Authorization": f"Bearer {admin}"},
        )
        self.headers = {"Authorization": f"Bearer {self.key.token()}"}

    def operation(self, number: int) -> int:
        submit, poll = UAI.api_functions
        report = {
            "id": f"device-{number}",
            "idType": "STRING",
            "language": 1033,
            "packageId": "p",
            "platform": "WIN64",
            "publisherName": "acme",
            "statusCode": 1,
            "statusReason": "",
            "timeStamp": "2026-11-22T10:00:00Z",
            "updateId": f"update-{number}",
            "updateName": "U",
        }
        url = self.call(submit, "POST", "/uai/2.0/updates/statusLog", status=202, body=report, headers=self.headers)[
            "url"
        ]
        polling_id = str(url).rsplit("/", 1)[1]
        transitions = 0
        for number_of_poll in range(2):  # the first while the workflow runs, the second once it has finished
            answer = self.stack.invoke(
                poll,
                self.event(
                    "GET",
                    f"/uai/2.0/updates/statusLog/{polling_id}",
                    route="/uai/2.0/updates/statusLog/{pollingId}",
                    path_parameters={"pollingId": polling_id},
                ),
            )
            if answer["statusCode"] not in (200, 202):
                raise RuntimeError(f"the poll answered {answer['statusCode']}: {answer.get('body')}")
            if number_of_poll == 0:
                transitions = self.transitions(UAI.machine, f"{polling_id}-1")
        return transitions


_FLOWS: dict[str, Callable[[Any, str], Any]] = {"thingspace": _ThingSpaceFlow, "uai": _UaiFlow}


def _tally(recorder: Recorder, indexes: list[Index], transitions: int, log_bytes: int) -> Measured:
    own: dict[str, list[float]] = defaultdict(list)
    latency: dict[str, list[float]] = defaultdict(list)
    counted = [call for call in recorder.calls if call.function is not None]
    for invocation in recorder.invocations:
        mine = [
            call
            for call in counted
            if call.function == invocation.function
            and invocation.started <= call.started <= invocation.started + invocation.seconds
        ]
        # One record per delivery invocation here: its calls ran one after another, never side by side.
        in_moto = sum(call.seconds for call in mine)
        own[invocation.function].append(max(0.0, invocation.seconds - in_moto) * 1000)
        latency[invocation.function].append(
            sum(_latency(call) for call in mine) + (WEBHOOK_RECEIVER_MS if invocation.function == DELIVERY else 0.0)
        )
    writes = reads = 0.0
    sqs = 0.0
    units: dict[str, tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
    for call in counted:
        function = str(call.function)
        if call.service == "dynamodb":
            w, r = dynamodb_units(call, indexes)
            writes, reads = writes + w, reads + r
            units[function] = (units[function][0] + w, units[function][1] + r)
        elif call.service == "sqs":
            sqs += 1
    deliveries = len(own.get(DELIVERY, []))
    return Measured(
        own_ms={f: sum(v) / len(v) for f, v in own.items()},
        invocations={f: float(len(v)) for f, v in own.items()},
        latency_ms={f: sum(v) / len(v) for f, v in latency.items()},
        write_units=writes,
        read_units=reads,
        sqs_requests=sqs + SQS_EVENT_SOURCE_REQUESTS * deliveries,
        transitions=float(transitions),
        log_bytes=float(log_bytes),
        operations=1,
        units_by_function=dict(units),
    )


def _median(runs: list[Measured]) -> Measured:
    functions = sorted({f for run in runs for f in run.invocations})

    def med(values: list[float]) -> float:
        return float(statistics.median(values)) if values else 0.0

    return Measured(
        own_ms={f: med([run.own_ms.get(f, 0.0) for run in runs]) for f in functions},
        invocations={f: med([run.invocations.get(f, 0.0) for run in runs]) for f in functions},
        latency_ms={f: med([run.latency_ms.get(f, 0.0) for run in runs]) for f in functions},
        write_units=med([run.write_units for run in runs]),
        read_units=med([run.read_units for run in runs]),
        sqs_requests=med([run.sqs_requests for run in runs]),
        transitions=med([run.transitions for run in runs]),
        log_bytes=med([run.log_bytes for run in runs]),
        operations=len(runs),
        units_by_function={
            f: (
                med([run.units_by_function.get(f, (0.0, 0.0))[0] for run in runs]),
                med([run.units_by_function.get(f, (0.0, 0.0))[1] for run in runs]),
            )
            for f in functions
        },
    )


# -------------------------------------------------------------------------------------------- prices


def price(name: str) -> float:
    return PRICES[name][0]


def cpu_share(design: Design, function: str) -> float:
    return min(1.0, design.memory_mb[function] / LAMBDA_FULL_VCPU_MB)


def lambda_ms(measured: Measured, design: Design, function: str) -> float:
    """Billed duration of one invocation: own code at this memory's CPU share, plus its AWS calls' latency."""
    return math.ceil(measured.own_ms[function] / cpu_share(design, function) + measured.latency_ms[function])


def init_ms(measured: Measured, design: Design, function: str) -> float:
    """Billed INIT of one cold start: the measured init at this memory's CPU share."""
    return math.ceil(measured.init_ms.get(function, 0.0) / cpu_share(design, function))


def cost_per_million(measured: Measured, design: Design, scenario: Scenario = THINGSPACE) -> dict[str, float]:
    """Dollars per million operations, by line item."""
    million = 1_000_000
    invocations = sum(measured.invocations.values())
    gb_seconds = sum(
        count * lambda_ms(measured, design, function) / 1000 * design.memory_mb[function] / 1024
        for function, count in measured.invocations.items()
    )
    init_gb_seconds = sum(
        count * COLD_START_RATE * init_ms(measured, design, function) / 1000 * design.memory_mb[function] / 1024
        for function, count in measured.invocations.items()
    )
    gb_second = price(f"lambda_gb_second_{design.architecture}")
    lines = {
        f"API Gateway ({design.api.upper()} API)": scenario.requests * price(f"{design.api}_api_request"),
        "Lambda requests": invocations * price("lambda_request"),
        f"Lambda duration ({design.architecture})": gb_seconds * gb_second,
        f"Lambda INIT ({COLD_START_RATE:.0%} cold)": init_gb_seconds * gb_second,
    }
    if design.workflow[scenario.machine] == "EXPRESS":
        task_ms = measured.invocations.get(scenario.worker, 0.0) * lambda_ms(measured, design, scenario.worker)
        billed_ms = math.ceil((task_ms + measured.transitions * EXPRESS_STATE_OVERHEAD_MS) / 100) * 100
        lines["Step Functions (Express)"] = price("express_request") + billed_ms / 1000 * (64 / 1024) * price(
            "express_gb_second"
        )
    else:
        lines["Step Functions (Standard)"] = measured.transitions * price("standard_transition")
    lines["DynamoDB (on demand)"] = measured.write_units * price("dynamodb_write_unit") + measured.read_units * price(
        "dynamodb_read_unit"
    )
    lines["SQS"] = measured.sqs_requests * price("sqs_fifo_request" if design.fifo_queue else "sqs_request")
    log_bytes = measured.log_bytes + invocations * design.platform_log_bytes
    lines["CloudWatch Logs"] = log_bytes / 1e9 * price("log_ingestion_gb")
    traced = sum(
        measured.invocations.get(f, 0.0) for f in scenario.api_functions if design.traced is None or f in design.traced
    )
    lines["X-Ray"] = traced * XRAY_LAMBDA_RATE * price("xray_trace")
    return {item: dollars * million for item, dollars in lines.items()}


@dataclass(frozen=True)
class Report:
    scenario: Scenario
    measured: Measured
    designs: tuple[Design, Design]
    costs: tuple[dict[str, float], dict[str, float]]

    @property
    def ratio(self) -> float:
        return sum(self.costs[0].values()) / sum(self.costs[1].values())


def report(
    operations: int = OPERATIONS, scenarios: tuple[Scenario, ...] = SCENARIOS, cold_init: bool = True
) -> list[Report]:
    ours = template_design()
    naive = naive_design(ours)
    measured = measure(operations, scenarios, cold_init)
    return [
        Report(
            s,
            measured[s.name],
            (ours, naive),
            (cost_per_million(measured[s.name], ours, s), cost_per_million(measured[s.name], naive, s)),
        )
        for s in scenarios
    ]


def render_one(result: Report) -> list[str]:
    measured, (ours, naive) = result.measured, result.designs
    lines = [
        f"== {result.scenario.title}",
        f"Measured on moto (median of {measured.operations} operations after a warm-up):",
    ]
    for function in sorted(measured.invocations):
        w, r = measured.units_by_function.get(function, (0.0, 0.0))
        lines.append(
            f"  {function:<38} {measured.invocations[function]:.0f} x  own {measured.own_ms[function]:5.2f} ms"
            f" + calls {measured.latency_ms[function]:4.0f} ms -> billed "
            f"{lambda_ms(measured, ours, function):4.0f} ms at {ours.memory_mb[function]} MB "
            f"({lambda_ms(measured, naive, function):4.0f} ms at {naive.memory_mb[function]} MB); "
            f"init {measured.init_ms.get(function, 0.0):4.0f} ms; DynamoDB {w:.0f} W / {r:.1f} R"
        )
    lines += [
        f"  DynamoDB write units {measured.write_units:.1f}, read units {measured.read_units:.1f}; SQS requests "
        f"{measured.sqs_requests:.0f}; state transitions {measured.transitions:.0f}; logged "
        f"{measured.log_bytes:.0f} B (+ platform lines: {ours.platform_log_bytes} B per invocation here, "
        f"{naive.platform_log_bytes} B naive)",
        "",
    ]
    width = max(len(item) for costs in result.costs for item in costs)
    lines.append(f"  {'pollgate (template)':<{width}}  {'$':>9}    {'naive':<{width}}  {'$':>9}")
    for (item, dollars), (naive_item, naive_dollars) in zip(
        result.costs[0].items(), result.costs[1].items(), strict=True
    ):
        lines.append(f"  {item:<{width}}  {dollars:9.2f}    {naive_item:<{width}}  {naive_dollars:9.2f}")
    total, naive_total = (sum(costs.values()) for costs in result.costs)
    lines += [
        f"  {'total':<{width}}  {total:9.2f}    {'total':<{width}}  {naive_total:9.2f}",
        f"  pollgate costs {result.ratio:.3f} of the naive design "
        f"(goal <= 0.100: {'met' if result.ratio <= 0.1 else 'NOT met'}).",
        "",
    ]
    return lines


def render(results: list[Report]) -> str:
    ours = results[0].designs[0]
    lines = [
        "Cost of 1,000,000 asynchronous operations per scenario",
        f"List prices, {PRICES_REGION}, {PRICES_DATE}; sources: the AWS pricing pages below.",
        f"pollgate: {ours.api.upper()} API, Express workflows, {ours.architecture}, "
        f"{min(ours.memory_mb.values())}-{max(ours.memory_mb.values())} MB; "
        "naive: REST API, Standard workflows, x86_64, 1024 MB, every function traced, platform log lines.",
        f"Stated, not measured: AWS call latencies {LATENCY_MS} ms, webhook receiver "
        f"{WEBHOOK_RECEIVER_MS:.0f} ms, {COLD_START_RATE:.0%} of invocations cold.",
        "",
    ]
    for result in results:
        lines += render_one(result)
    lines += ["Prices:"]
    lines += [f"  {name:<24} ${value:.10g} {unit}  ({source})" for name, (value, unit, source) in PRICES.items()]
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    print(render(report()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
