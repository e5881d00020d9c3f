"""`make cost`: the AWS list-price cost of one million asynchronous operations, pollgate against a naive design.

One operation is what a ThingSpace client does for a device action with a callback listener, the face that
uses every part of the system: one submit, three status polls, the workflow (plan, apply one device, finish)
and one webhook (the CarrierService callback, through the delivery queue).

Measured, by running the template's own functions on moto (the local runtime, in process):
- each function's time in its own code per invocation (wall time minus the time spent inside moto serving its
  AWS calls), scaled to the CPU share Lambda gives its memory size (one vCPU at 1,769 MB, proportionally less
  below), plus a typical in-region latency for each AWS call it made (LATENCY_MS: stated, not measured);
- every AWS call (DynamoDB units from the items written and read, SQS requests, StartExecution);
- workflow state transitions (from the execution history);
- bytes logged per operation (everything the functions printed).

Read from template.yaml: each function's memory and architecture, HTTP API or REST API, Express or Standard,
DynamoDB billing mode, standard or FIFO queue. The naive design is the same code and the same calls on a REST
API, a Standard workflow, x86_64 and 1,024 MB for every function.

Not counted (the same in both designs, or not proportional to operations): storage, PITR backups, the
schedules (sweeper, retrier, scheduler: about 130,000 invocations a month in all), SQS long polling while
idle, alarms and dashboard (fixed monthly: about $5), data transfer, free tiers, INIT (cold start) billing.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    "lambda_gb_second_arm64": (0.0000133334, "per GB-second", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second_x86_64": (0.0000166667, "per GB-second", "https://aws.amazon.com/lambda/pricing/"),
    "express_request": (1.00e-6, "per execution", "https://aws.amazon.com/step-functions/pricing/"),
    "express_gb_second": (0.00001667, "per GB-second, 64 MB steps, 100 ms steps",
                          "https://aws.amazon.com/step-functions/pricing/"),
    "standard_transition": (0.025e-3, "per state transition", "https://aws.amazon.com/step-functions/pricing/"),
    "dynamodb_write_unit": (0.625e-6, "per on-demand write request unit",
                            "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_read_unit": (0.125e-6, "per on-demand read request unit",
                           "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "sqs_request": (0.40e-6, "per standard-queue request (64 KB)", "https://aws.amazon.com/sqs/pricing/"),
    "sqs_fifo_request": (0.50e-6, "per FIFO-queue request (64 KB)", "https://aws.amazon.com/sqs/pricing/"),
    "log_ingestion_gb": (0.50, "per GB ingested (standard class)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": (5.00e-6, "per trace recorded", "https://aws.amazon.com/xray/pricing/"),
}

# Typical in-region latency of each AWS call, as seen from a Lambda function (stated, not measured: moto answers
# in process). The webhook receiver's answer time is the listener's, not ours; 200 ms is a middling one.
LATENCY_MS = {"dynamodb": 5.0, "dynamodb.TransactWriteItems": 12.0, "stepfunctions": 25.0, "sqs": 8.0,
              "secretsmanager": 25.0, "s3": 20.0}
WEBHOOK_RECEIVER_MS = 200.0
# What Lambda adds to the logs per invocation in JSON format (platform.start and platform.report).
PLATFORM_LOG_BYTES = 500
# X-Ray: the default sampling rule records 5% of requests beyond the first each second; at volume, 5%.
XRAY_SAMPLED = 0.05
# Step Functions bills Express time from the start of each state; this is its own overhead per state.
EXPRESS_STATE_OVERHEAD_MS = 10.0
LAMBDA_FULL_VCPU_MB = 1769
SQS_EVENT_SOURCE_REQUESTS = 2  # per message: the poller's ReceiveMessage and DeleteMessage(Batch) share
POLLS = 3
OPERATIONS = 12  # measured after one warm-up operation; the median of each figure is kept

ACCOUNT = "0000123456-00001"
SUBMIT = "ThingSpaceDeviceActionFunction"
POLL = "ThingSpaceRequestStatusFunction"
WORKER = "ThingSpaceDeviceActionWorkerFunction"
DELIVERY = "WebhookDeliveryFunction"
MACHINE = "ThingSpaceDeviceActionStateMachine"
QUEUE = "WebhookQueue"
API_FUNCTIONS = (SUBMIT, POLL)


# ------------------------------------------------------------------------------------------ template

@dataclass(frozen=True)
class Design:
    """The settings that price an operation."""

    name: str
    memory_mb: dict[str, int]
    architecture: str
    api: str  # "http" or "rest"
    workflow: str  # "EXPRESS" or "STANDARD"
    fifo_queue: bool = False


def template_design() -> Design:
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    globals_function = template.get("Globals", {}).get("Function", {})
    resources = template["Resources"]
    memory = {name: int(resource["Properties"].get("MemorySize", globals_function.get("MemorySize", 128)))
              for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"}
    architectures = {str(a) for resource in resources.values() if resource["Type"] == "AWS::Serverless::Function"
                     for a in resource["Properties"].get("Architectures", globals_function.get("Architectures",
                                                                                              ["x86_64"]))}
    if len(architectures) != 1:
        raise SystemExit(f"the cost model wants one architecture for every function, found {architectures}")
    api_kinds = set()
    for name in API_FUNCTIONS:
        for event in resources[name]["Properties"].get("Events", {}).values():
            api_kinds.add({"HttpApi": "http", "Api": "rest"}[event["Type"]])
    if len(api_kinds) != 1:
        raise SystemExit(f"the measured functions are behind {api_kinds}; the model prices one kind")
    billing = resources["Table"]["Properties"].get("BillingMode", "PROVISIONED")
    if billing != "PAY_PER_REQUEST":
        raise SystemExit(f"the cost model prices DynamoDB on demand; the table is {billing}")
    return Design(
        name="pollgate", memory_mb=memory, architecture=architectures.pop(), api=api_kinds.pop(),
        workflow=str(resources[MACHINE]["Properties"].get("Type", "STANDARD")).upper(),
        fifo_queue=bool(resources[QUEUE]["Properties"].get("FifoQueue", False)),
    )


def naive_design(measured: Design) -> Design:
    return Design(name="naive", memory_mb=dict.fromkeys(measured.memory_mb, 1024), architecture="x86_64",
                  api="rest", workflow="STANDARD", fifo_queue=measured.fifo_queue)


# --------------------------------------------------------------------------------------- measurement

@dataclass
class Call:
    thread: str
    service: str
    operation: str
    started: float
    seconds: float
    params: dict[str, Any]
    response: dict[str, Any]


@dataclass
class Invocation:
    function: str
    started: float
    seconds: float


@dataclass
class Recorder:
    """Every AWS call made on a function's thread, and every invocation, with their times."""

    calls: list[Call] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before_parameters(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["cost_params"] = dict(params)

    def before_call(self, context: dict[str, Any], **_: Any) -> None:
        context["cost_started"] = time.perf_counter()

    def after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        started = context.get("cost_started")
        if started is None:
            return
        call = Call(threading.current_thread().name, model.service_model.endpoint_prefix, model.name, started,
                    time.perf_counter() - started, context.get("cost_params", {}), parsed)
        with self.lock:
            self.calls.append(call)

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.invocations.clear()


def _function_of(thread: str) -> str | None:
    """Which function a thread belongs to: its handler thread, or the delivery consumer's fan-out threads."""
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


def _item_bytes(attributes: Any) -> int:
    """DynamoDB item size, closely enough: attribute names and values as JSON."""
    return len(json.dumps(attributes or {}, separators=(",", ":"), default=str))


def _touches_index(params: dict[str, Any]) -> bool:
    text = json.dumps(params, default=str)
    return "duePk" in text or "dueAt" in text


def dynamodb_units(call: Call) -> tuple[float, float]:
    """(write units, read units) one call consumed on demand: 1 KB writes, 4 KB reads (half if eventual),
    transactions double, and a write that changes the `due` index's keys writes the index too."""
    op, params, response = call.operation, call.params, call.response
    if op in {"PutItem", "UpdateItem", "DeleteItem"}:
        size = _item_bytes(params.get("Item") or response.get("Attributes"))
        return math.ceil(max(size, 1) / 1024) + (1 if _touches_index(params) else 0), 0.0
    if op == "TransactWriteItems":
        units = 0.0
        for item in params.get("TransactItems", []):
            [(kind, body)] = item.items()
            units += 2 * math.ceil(max(_item_bytes(body.get("Item")), 1) / 1024)
            units += 1 if kind != "ConditionCheck" and _touches_index(body) else 0
        return units, 0.0
    if op == "BatchWriteItem":
        requests = [r for table in params.get("RequestItems", {}).values() for r in table]
        return float(sum(math.ceil(max(_item_bytes(r.get("PutRequest", {}).get("Item")), 1) / 1024)
                         for r in requests)), 0.0
    factor = 1.0 if params.get("ConsistentRead") else 0.5
    if op == "GetItem":
        return 0.0, factor * math.ceil(max(_item_bytes(response.get("Item")), 1) / 4096)
    if op in {"Query", "Scan"}:
        returned = sum(_item_bytes(item) for item in response.get("Items", []))
        return 0.0, factor * math.ceil(max(returned, 1) / 4096)
    if op == "BatchGetItem":
        items = [item for table in response.get("Responses", {}).values() for item in table]
        return 0.0, sum(factor * math.ceil(max(_item_bytes(item), 1) / 4096) for item in items)
    if op == "TransactGetItems":
        return 0.0, 2.0 * len(params.get("TransactItems", []))
    return 0.0, 0.0


def _latency(call: Call) -> float:
    return LATENCY_MS.get(f"{call.service}.{call.operation}", LATENCY_MS.get(call.service, 10.0))


def measure(operations: int = OPERATIONS) -> Measured:
    """Run `operations` device actions (after one warm-up) through the template's functions on moto."""
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                       "POWERTOOLS_TRACE_DISABLED": "1", "TABLE_NAME": "pollgate-cost"})
    import boto3
    from moto import mock_aws
    from pollgate import aws, settings
    from pollgate.thingspace.auth import CredentialStore, forget_cached_bearers
    from pollgate.thingspace.inventory import InventoryStore
    from pollgate_local.functions import LocalFunction
    from pollgate_local.stack import MOTO_CONFIG, LocalStack
    from pytest_httpserver import HTTPServer

    recorder = Recorder()
    settings.reset_settings()
    forget_cached_bearers()

    original_invoke = LocalFunction.invoke

    def timed_invoke(self: LocalFunction, event: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_invoke(self, event)
        finally:
            with recorder.lock:
                recorder.invocations.append(Invocation(self.logical_id, started, time.perf_counter() - started))

    listener = HTTPServer(host="127.0.0.1", port=0)
    listener.start()
    listener.expect_request("/callback").respond_with_data("ok")
    LocalFunction.invoke = timed_invoke  # type: ignore[method-assign]
    try:
        with mock_aws(config=MOTO_CONFIG), \
                LocalStack(parameters={"WebhookAllowHosts": "127.0.0.1", "LogLevel": "INFO"}) as stack:
            # moto replaces boto3's default session while it mocks: hook the one every client now comes from.
            boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
            assert session is not None
            session.events.register("before-parameter-build", recorder.before_parameters)
            session.events.register("before-call", recorder.before_call)
            session.events.register("after-call", recorder.after_call)
            aws.reset_clients()
            stack.provision()
            stack.start_invoke_server()
            with _captured_output():
                flow = _ThingSpaceFlow(stack, listener.url_for("/callback"), CredentialStore(), InventoryStore())
                flow.operation(0)  # warm-up: every function's cold start, not counted
            per_operation: list[Measured] = []
            for number in range(1, operations + 1):
                recorder.clear()
                with _captured_output() as logged:
                    transitions = flow.operation(number)
                per_operation.append(_tally(recorder, transitions, logged[0]))
    finally:
        LocalFunction.invoke = original_invoke  # type: ignore[method-assign]
        listener.stop()
        forget_cached_bearers()
    return _median(per_operation)


class _ThingSpaceFlow:
    """A client of the ThingSpace face: token and session once, then device actions with a callback."""

    def __init__(self, stack: Any, callback_url: str, credentials: Any, inventory: Any) -> None:
        from tests.aws_fixtures import http_event

        self.stack, self.event = stack, http_event
        inventory.add_account(ACCOUNT)
        credentials.add_client("client", "client-secret")
        credentials.add_user("alice", "alice-password", [ACCOUNT])
        self.inventory = inventory
        basic = base64.b64encode(b"client:client-secret").decode()
        access = self._call("ThingSpaceOAuthTokenFunction", "POST", "/api/ts/v1/oauth2/token",
                            body="grant_type=client_credentials",
                            headers={"content-type": "application/x-www-form-urlencoded",
                                     "authorization": f"Basic {basic}"})["access_token"]
        session = self._call("ThingSpaceSessionLoginFunction", "POST", "/api/m2m/v1/session/login",
                             body={"username": "alice", "password": "alice-password"},
                             headers={"authorization": f"Bearer {access}"})["sessionToken"]
        self.headers = {"authorization": f"Bearer {access}", "vz-m2m-token": session}
        self._call("ThingSpaceRegisterCallbackFunction", "POST", f"/api/m2m/v1/callbacks/{ACCOUNT}",
                   route="/api/m2m/v1/callbacks/{accountname}", path_parameters={"accountname": ACCOUNT},
                   headers=self.headers, body={"name": "CarrierService", "url": callback_url})

    def _call(self, function: str, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.stack.invoke(function, self.event(method, path, **kwargs))
        if answer["statusCode"] != 200:
            raise RuntimeError(f"{function} answered {answer['statusCode']}: {answer.get('body')}")
        return json.loads(answer["body"])

    def operation(self, number: int) -> int:
        """Submit, poll three times, let the workflow finish, deliver the callback; the transitions it took."""
        import boto3

        imei = f"99000086247{number:04d}"
        self.inventory.add_device(ACCOUNT, {"imei": imei})
        request_id = self._call(SUBMIT, "POST", "/api/m2m/v1/devices/actions/activate", headers=self.headers,
                                body={"accountName": ACCOUNT, "servicePlan": "M2M_4G",
                                      "devices": [{"deviceIds": [{"kind": "imei", "id": imei}]}]})["requestId"]
        machine = self.stack.provisioned.state_machines[MACHINE]
        execution = machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1"
        status_path = f"/api/m2m/v1/accounts/{ACCOUNT}/requests/{request_id}/status"
        for poll in range(POLLS):  # the first while the workflow runs, the others once it has finished
            self._call(POLL, "GET", status_path, headers=self.headers,
                       route="/api/m2m/v1/accounts/{accountname}/requests/{requestID}/status",
                       path_parameters={"accountname": ACCOUNT, "requestID": request_id})
            if poll == 0 and self.stack.wait_for_execution(execution, timeout=30)["status"] != "SUCCEEDED":
                raise RuntimeError(f"the workflow of {request_id} did not succeed")
        history = boto3.client("stepfunctions").get_execution_history(executionArn=execution, maxResults=1000)
        transitions = sum(1 for event in history["events"] if event["type"].endswith("StateEntered"))
        self._deliver()
        return transitions

    def _deliver(self) -> None:
        import boto3

        sqs = boto3.client("sqs")
        queue_url = self.stack.provisioned.queues[QUEUE]
        for _ in range(5):  # bounded: one callback per operation
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                        "attributes": {}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                        "awsRegion": "us-east-1"} for m in messages]
            for record, message in zip(records, messages, strict=True):  # one message per invocation: the worst
                self.stack.invoke(DELIVERY, {"Records": [record]})
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _tally(recorder: Recorder, transitions: int, log_bytes: int) -> Measured:
    own: dict[str, list[float]] = defaultdict(list)
    latency: dict[str, list[float]] = defaultdict(list)
    counted = [(call, function) for call in recorder.calls if (function := _function_of(call.thread)) is not None]
    for invocation in recorder.invocations:
        mine = [call for call, function in counted if function == invocation.function
                and invocation.started <= call.started <= invocation.started + invocation.seconds]
        # One record per delivery invocation here: its calls ran one after another, never side by side.
        in_moto = sum(call.seconds for call in mine)
        own[invocation.function].append(max(0.0, invocation.seconds - in_moto) * 1000)
        latency[invocation.function].append(sum(_latency(call) for call in mine)
                                            + (WEBHOOK_RECEIVER_MS if invocation.function == DELIVERY else 0.0))
    writes = reads = 0.0
    sqs = 0.0
    units: dict[str, tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
    for call, function in counted:
        if call.service == "dynamodb":
            w, r = dynamodb_units(call)
            writes, reads = writes + w, reads + r
            units[function] = (units[function][0] + w, units[function][1] + r)
        elif call.service == "sqs":
            sqs += 1
    deliveries = len(own.get(DELIVERY, []))
    return Measured(
        own_ms={f: sum(v) / len(v) for f, v in own.items()},
        invocations={f: float(len(v)) for f, v in own.items()},
        latency_ms={f: sum(v) / len(v) for f, v in latency.items()},
        write_units=writes, read_units=reads, sqs_requests=sqs + SQS_EVENT_SOURCE_REQUESTS * deliveries,
        transitions=float(transitions), log_bytes=float(log_bytes), operations=1, units_by_function=dict(units),
    )


def _median(runs: list[Measured]) -> Measured:
    functions = sorted({f for run in runs for f in run.invocations})

    def med(values: list[float]) -> float:
        return float(statistics.median(values)) if values else 0.0

    return Measured(
        own_ms={f: med([run.own_ms.get(f, 0.0) for run in runs]) for f in functions},
        invocations={f: med([run.invocations.get(f, 0.0) for run in runs]) for f in functions},
        latency_ms={f: med([run.latency_ms.get(f, 0.0) for run in runs]) for f in functions},
        write_units=med([run.write_units for run in runs]), read_units=med([run.read_units for run in runs]),
        sqs_requests=med([run.sqs_requests for run in runs]), transitions=med([run.transitions for run in runs]),
        log_bytes=med([run.log_bytes for run in runs]), operations=len(runs),
        units_by_function={f: (med([run.units_by_function.get(f, (0.0, 0.0))[0] for run in runs]),
                               med([run.units_by_function.get(f, (0.0, 0.0))[1] for run in runs])) for f in functions},
    )


# -------------------------------------------------------------------------------------------- prices

def price(name: str) -> float:
    return PRICES[name][0]


def lambda_ms(measured: Measured, design: Design, function: str) -> float:
    """Billed duration of one invocation: own code at this memory's CPU share, plus its AWS calls' latency."""
    share = min(1.0, design.memory_mb[function] / LAMBDA_FULL_VCPU_MB)
    return math.ceil(measured.own_ms[function] / share + measured.latency_ms[function])


def cost_per_million(measured: Measured, design: Design) -> dict[str, float]:
    """Dollars per million operations, by line item."""
    million = 1_000_000
    requests = 1 + POLLS
    invocations = sum(measured.invocations.values())
    gb_seconds = sum(count * lambda_ms(measured, design, function) / 1000 * design.memory_mb[function] / 1024
                     for function, count in measured.invocations.items())
    lines = {
        f"API Gateway ({design.api.upper()} API)": requests * price(f"{design.api}_api_request"),
        "Lambda requests": invocations * price("lambda_request"),
        f"Lambda duration ({design.architecture})": gb_seconds * price(f"lambda_gb_second_{design.architecture}"),
    }
    if design.workflow == "EXPRESS":
        task_ms = measured.invocations.get(WORKER, 0.0) * lambda_ms(measured, design, WORKER)
        billed_ms = math.ceil((task_ms + measured.transitions * EXPRESS_STATE_OVERHEAD_MS) / 100) * 100
        lines["Step Functions (Express)"] = price("express_request") + billed_ms / 1000 * (64 / 1024) * price(
            "express_gb_second")
    else:
        lines["Step Functions (Standard)"] = measured.transitions * price("standard_transition")
    lines["DynamoDB (on demand)"] = (measured.write_units * price("dynamodb_write_unit")
                                     + measured.read_units * price("dynamodb_read_unit"))
    lines["SQS"] = measured.sqs_requests * price("sqs_fifo_request" if design.fifo_queue else "sqs_request")
    log_bytes = measured.log_bytes + invocations * PLATFORM_LOG_BYTES
    lines["CloudWatch Logs"] = log_bytes / 1e9 * price("log_ingestion_gb")
    traced_entries = requests + measured.invocations.get(DELIVERY, 0.0)  # the SQS-triggered delivery starts one
    lines["X-Ray"] = traced_entries * XRAY_SAMPLED * price("xray_trace")
    return {item: dollars * million for item, dollars in lines.items()}


@dataclass(frozen=True)
class Report:
    measured: Measured
    designs: tuple[Design, Design]
    costs: tuple[dict[str, float], dict[str, float]]

    @property
    def ratio(self) -> float:
        return sum(self.costs[0].values()) / sum(self.costs[1].values())


def report(operations: int = OPERATIONS) -> Report:
    ours = template_design()
    naive = naive_design(ours)
    measured = measure(operations)
    return Report(measured, (ours, naive), (cost_per_million(measured, ours), cost_per_million(measured, naive)))


def render(result: Report) -> str:
    measured, (ours, naive) = result.measured, result.designs
    lines = [f"Cost of 1,000,000 asynchronous operations (ThingSpace device action: 1 submit, {POLLS} polls, "
             "the workflow, 1 webhook)",
             f"List prices, {PRICES_REGION}, {PRICES_DATE}; sources: the AWS pricing pages below.", "",
             f"Measured on moto (median of {measured.operations} operations after a warm-up):"]
    for function in sorted(measured.invocations):
        lines.append(f"  {function:<40} {measured.invocations[function]:.0f} x  own code "
                     f"{measured.own_ms[function]:6.2f} ms on this machine's core; AWS calls "
                     f"{measured.latency_ms[function]:5.0f} ms (stated latencies)  ->  billed "
                     f"{lambda_ms(measured, ours, function):4.0f} ms at {ours.memory_mb[function]} MB, "
                     f"{lambda_ms(measured, naive, function):4.0f} ms at {naive.memory_mb[function]} MB")
    lines += ["  DynamoDB units (write/read) by function: " + ", ".join(
        f"{function} {w:.0f}/{r:.1f}" for function, (w, r) in sorted(measured.units_by_function.items()))]
    lines += [f"  DynamoDB write units {measured.write_units:.1f}, read units {measured.read_units:.1f}; SQS requests "
              f"{measured.sqs_requests:.0f}; state transitions {measured.transitions:.0f}; "
              f"logged {measured.log_bytes:.0f} B (+{PLATFORM_LOG_BYTES} B platform lines per invocation)", ""]
    width = max(len(item) for costs in result.costs for item in costs)
    lines.append(f"  {'pollgate (template)':<{width}}  {'$':>9}    {'naive':<{width}}  {'$':>9}")
    for (item, dollars), (naive_item, naive_dollars) in zip(result.costs[0].items(), result.costs[1].items(),
                                                            strict=True):
        lines.append(f"  {item:<{width}}  {dollars:9.2f}    {naive_item:<{width}}  {naive_dollars:9.2f}")
    total, naive_total = (sum(costs.values()) for costs in result.costs)
    lines += [f"  {'total':<{width}}  {total:9.2f}    {'total':<{width}}  {naive_total:9.2f}", "",
              f"pollgate costs {result.ratio:.3f} of the naive design "
              f"(goal <= 0.100: {'met' if result.ratio <= 0.1 else 'NOT met'}).",
              f"pollgate: {ours.api.upper()} API, {ours.workflow.title()} workflow, {ours.architecture}, "
              f"{ours.memory_mb[SUBMIT]} MB; naive: REST API, Standard workflow, x86_64, 1024 MB.", "", "Prices:"]
    lines += [f"  {name:<24} ${value:.10g} {unit}  ({source})" for name, (value, unit, source) in PRICES.items()]
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    print(render(report()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
