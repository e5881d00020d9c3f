"""Every moto and SAM CLI internal the local runtime leans on, in one place, pinned to the versions it was written for.

moto is the runtime's model of AWS; where moto is more lenient than AWS, or reaches for something the runtime
provides itself, this module bends it, and only this module does:

- `express_semantics()`: DescribeExecution, ListExecutions and GetExecutionHistory are refused for Express state
  machines, as AWS refuses them (moto runs Express workflows as Standard ones and answers all three).
- `one_request_at_a_time()`: in process (mock_aws), each request to moto served alone, as the services process
  serves them: the test's thread, the invoke server's handler threads and moto's own execution threads all call
  moto, whose backends change items in place with nothing of their own to serialise them.
- `executions()`: the runtime's own record of every execution, Express included (what tests read instead).
- `interpreter_clients(...)`: the ASL interpreter's Lambda and DynamoDB tasks sent where the runtime says (its
  Lambda endpoint, its services endpoint) and signed as the state machine's own role, so IAM sees the role.

- `faster_moto()`: moto's slow paths (whole-table transaction backups, whole-table sorts per Query, a DynamoDB
  answer walked member by member against its shape, an ASL definition parsed again for every execution) made fast.
- SAM CLI: `sam_parameter_values(...)` (the template's parameters as SAM's providers resolve them) and
  `flask_app_of(service)` (the Flask app inside SAM's API Gateway emulator, which the runtime serves itself).

tests/unit/test_adapters.py pins each of these against the installed moto and SAM CLI, so an upgrade that moves an
internal fails there, not deep inside a workflow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import moto
from moto.core.config import default_user_config

from pollgate_local import ACCOUNT, REGION

# The moto these adapters were written against (pyproject pins the same): another version must pass
# tests/unit/test_adapters.py before the pin moves.
MOTO_VERSION = "5.2.5"
SAM_CLI_VERSION = "1.170.0"

# What AWS answers, for Express state machines, to the three calls it does not offer them.
_NOT_FOR_EXPRESS = "This operation is not supported by EXPRESS state machines"


class ExpressRefusal(Exception):
    """Raised inside moto's response classes; moto turns a JsonRESTError into the protocol's error answer."""


def check_version() -> None:
    import samcli

    for name, wanted, installed in (
        ("moto", MOTO_VERSION, moto.__version__),
        ("aws-sam-cli", SAM_CLI_VERSION, samcli.__version__),
    ):
        if installed != wanted:
            raise RuntimeError(
                f"pollgate's local runtime adapts {name} {wanted} and {name} {installed} is installed: "
                "run tests/unit/test_adapters.py against it, then move the version in adapters.py and pyproject.toml"
            )


# ---------------------------------------------------------------------------------------------- SAM CLI
def sam_parameter_values(template_dict: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The template's parameters with their defaults, overrides and AWS pseudo parameters, as SAM's providers
    resolve them (SamBaseProvider's own, private, resolution)."""
    from samcli.lib.providers.sam_base_provider import SamBaseProvider

    values: dict[str, Any] = SamBaseProvider._get_parameter_values(dict(template_dict), dict(parameters))
    return values


def flask_app_of(service: Any) -> Any:
    """The Flask app a created `LocalApigwService` holds (its `run()` would install signal handlers and serve it
    on the main thread; the runtime serves it on a thread of its own)."""
    return service._app


def execute_state_machines() -> None:
    """moto runs the real ASL definitions (its interpreter is a port of LocalStack's) instead of faking success."""
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True


def _parser_backend() -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[ACCOUNT][REGION]


def _state_machine_type(arn: str) -> str | None:
    """STANDARD or EXPRESS for a state machine or execution ARN of this account; None when unknown."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[5] not in ("stateMachine", "execution", "express"):
        return None
    machine = ":".join([*parts[:5], "stateMachine", parts[6]])
    for state_machine in _parser_backend().state_machines:
        if state_machine.arn == machine:
            return str(getattr(state_machine, "type", "STANDARD") or "STANDARD")
    return None


_installed_serial = False
# Reentrant: a moto request that makes another one in the same thread (moto's own cross-service calls) is one request.
_moto_request = threading.RLock()
_serving = threading.local()  # how deep this thread is in moto requests (under _moto_request)


def one_request_at_a_time() -> None:
    """Every request mock_aws answers in this process is answered under one lock. Idempotent.

    Only moto's part is held: a request moto passes through (to the runtime's invoke server, to a webhook) makes
    its real HTTP call outside the lock, so a Lambda task's handler, in another thread, can call moto meanwhile.
    """
    global _installed_serial
    if _installed_serial:
        return
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.sqs.models import Queue

    process_request = BotocoreStubber.process_request
    wait_for_messages = Queue.wait_for_messages

    def alone(self: Any, request: Any) -> Any:
        with _moto_request:
            _serving.depth = getattr(_serving, "depth", 0) + 1
            try:
                return process_request(self, request)
            finally:
                _serving.depth -= 1

    def waiting_outside_the_lock(self: Any, timeout: int) -> None:
        # A long poll holding the lock would keep out the very send (or delete) it waits for: it waits without it.
        if not getattr(_serving, "depth", 0):
            wait_for_messages(self, timeout)
            return
        # Every hold of this thread's, released and taken again as many times: only `alone` takes the lock.
        holds = _serving.depth
        for _ in range(holds):
            _moto_request.release()
        try:
            wait_for_messages(self, timeout)
        finally:
            for _ in range(holds):
                _moto_request.acquire()

    BotocoreStubber.process_request = alone  # type: ignore[method-assign]
    Queue.wait_for_messages = waiting_outside_the_lock  # type: ignore[method-assign]
    _installed_serial = True


_installed_express = False


def express_semantics() -> None:
    """Refuse, as AWS does, the execution APIs Express workflows do not have. Idempotent."""
    global _installed_express
    if _installed_express:
        return
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.responses import StepFunctionResponse

    def refusing(name: str, parameter: str, error: str) -> None:
        original: Callable[..., Any] = getattr(StepFunctionResponse, name)

        def answer(self: Any) -> Any:
            arn = str(self._get_param(parameter) or "")
            if _state_machine_type(arn) == "EXPRESS":
                raise JsonRESTError(error, _NOT_FOR_EXPRESS)
            return original(self)

        answer.__name__ = name
        setattr(StepFunctionResponse, name, answer)

    refusing("describe_execution", "executionArn", "InvalidArn")
    refusing("get_execution_history", "executionArn", "InvalidArn")
    refusing("list_executions", "stateMachineArn", "StateMachineTypeNotSupported")
    _installed_express = True


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):  # moto's enums
        return value.value
    return value


def executions(state_machine_arn: str | None = None, *, history: bool = False) -> list[dict[str, Any]]:
    """Every execution moto ran (or runs), as DescribeExecution would describe it; `history` adds its events.

    This is the runtime's own record, not an AWS API: tests and benchmarks read it where AWS offers nothing for
    Express workflows.
    """
    backend = _parser_backend()
    found = []
    for state_machine in list(backend.state_machines):
        if state_machine_arn and state_machine.arn != state_machine_arn:
            continue
        for execution in list(state_machine.executions):
            record = _json_safe(dict(execution.to_describe_output()))
            record["type"] = str(getattr(state_machine, "type", "STANDARD") or "STANDARD")
            if history:
                record["events"] = _json_safe(backend.get_execution_history(execution.exec_arn)["events"])
            found.append(record)
    return found


# ---------------------------------------------------------------------------------------------- interpreter
_signing_as = threading.local()


@contextmanager
def _as_state_machine(env: Any) -> Iterator[None]:
    """The state machine whose task runs on this thread: the interpreter calls boto_client_for synchronously."""
    try:
        arn = env.states.context_object.context_object_data["StateMachine"]["Id"]
    except (AttributeError, KeyError, TypeError):
        arn = None
    previous = getattr(_signing_as, "arn", None)
    _signing_as.arn = arn
    try:
        yield
    finally:
        _signing_as.arn = previous


_installed_clients = False


def interpreter_clients(
    *,
    services_url: str,
    lambda_url: str,
    credentials_of: Callable[[str], Mapping[str, str] | None],
) -> None:
    """Lambda tasks go to `lambda_url`, every other task to `services_url`, each signed with the credentials
    `credentials_of(state machine ARN)` gives (None: the account's admin). Call once per process."""
    global _installed_clients
    if _installed_clients:
        return
    import boto3
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_dynamodb,
    )

    timeout = TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS
    make_client: Any = boto3.client
    # A boto3 client is safe to share between threads and costs milliseconds to make: one per signer and service.
    made: dict[tuple[str, str, str, str | None], Any] = {}
    making = threading.Lock()

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        arn = getattr(_signing_as, "arn", None)
        signing = (credentials_of(arn) if arn else None) or {
            "AWS_ACCESS_KEY_ID": "admin",
            "AWS_SECRET_ACCESS_KEY": "admin",
        }
        key = (region, service, signing["AWS_ACCESS_KEY_ID"], signing.get("AWS_SESSION_TOKEN"))
        with making:
            if key not in made:
                made[key] = new_client(region, service, signing)
            return made[key]

    def new_client(region: str, service: str, signing: Mapping[str, str]) -> Any:
        return make_client(
            service_name=service,
            region_name=region,
            endpoint_url=lambda_url if service == "lambda" else services_url,
            aws_access_key_id=signing["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=signing["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=signing.get("AWS_SESSION_TOKEN"),
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=timeout,
                read_timeout=timeout,
            ),
        )

    # Both modules imported boto_client_for by name: their own references are what the tasks call.
    setattr(lambda_eval_utils, "boto_client_for", client_for)  # noqa: B010
    setattr(state_task_service_dynamodb, "boto_client_for", client_for)  # noqa: B010

    invoke = lambda_eval_utils.execute_lambda_function_integration

    def execute_lambda_function_integration(env: Any, *args: Any, **kwargs: Any) -> Any:
        with _as_state_machine(env):
            return invoke(env, *args, **kwargs)

    lambda_eval_utils.execute_lambda_function_integration = execute_lambda_function_integration

    service = state_task_service_dynamodb.StateTaskServiceDynamoDB
    evaluate = service._eval_service_task

    def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        with _as_state_machine(env):
            return evaluate(self, env, *args, **kwargs)

    service._eval_service_task = _eval_service_task  # type: ignore[method-assign]
    _installed_clients = True


# ---------------------------------------------------------------------------------------------- speed
_installed_speed = False
_transaction = threading.local()  # the journal of the DynamoDB transaction this thread is in, if any
_partition = threading.local()  # the one partition a table Query on this thread reads


def faster_moto() -> None:
    """What makes moto slower than AWS by orders of magnitude, fixed without changing what it answers. Idempotent.

    - TransactWriteItems deep-copies every table it touches before it starts (to roll back on a cancellation):
      its cost grows with the table. Here only the items it writes are kept, and only those are put back.
    - A Query on a table (not an index) sorts the whole table, then keeps its partition, and sizes every item of
      the partition before testing its key condition: here it reads the partition's items in the key range only.
    - The server lists moto's package folder on every request to find the backend: here once; and it lists a
      response class's methods (by inspection) on every request: here once per class.
    - A DynamoDB data-plane answer is walked member by member against the operation's shape to produce JSON
      the answer already is: here it is dumped as it is, unless it holds anything that walk would change.
    - Every UpdateItem parses its update expression twice: here each expression is parsed once (the validator
      works on a deep copy of the tree, so the parsed tree itself is never changed).
    - Every execution parses its state machine's definition again (an ANTLR grammar, in Python): here each
      definition is parsed once and its program shared by its executions (they keep their state in their own
      environment; the one value a program computes lazily, its components' heap keys, is made thread-safe).
    """
    global _installed_speed
    if _installed_speed:
        return
    import copy as real_copy
    import types

    from moto import backends
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models.table import Table
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    modules = tuple(backends.list_of_moto_modules())
    setattr(backends, "list_of_moto_modules", lambda: modules)  # noqa: B010

    find_backend = DomainDispatcherApplication.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in found:
            found[host] = find_backend(self, host)
        return found[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]
    _method_names_once()
    _lean_dynamodb_answers()
    _update_expressions_parsed_once()
    _definitions_parsed_once()

    # The transaction's own "backup" is then the live table (so its rollback assignment changes nothing); the
    # journal below is what puts the written items back.
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table) and getattr(_transaction, "journal", None) is not None:
            return value
        return real_copy.deepcopy(value, memo)

    setattr(dynamodb_models, "copy", types.SimpleNamespace(deepcopy=deepcopy, copy=real_copy.copy))  # noqa: B010
    backend_class = dynamodb_models.DynamoDBBackend

    def journaled(name: str, key_of: Callable[[Any, str, Any], dict[str, Any]]) -> None:
        write = getattr(backend_class, name)

        def wrapper(self: Any, table_name: str, first: Any, *args: Any, **kwargs: Any) -> Any:
            journal = getattr(_transaction, "journal", None)
            if journal is not None:
                try:
                    table = self.get_table(table_name)
                    hash_key, range_key = self.get_keys_value(table, key_of(table, table_name, first))
                    before = table.get_item(hash_key, range_key)
                except Exception:  # noqa: S110 - a write moto refuses (no such table, bad key) changes nothing
                    pass
                else:
                    journal.append((table, hash_key, range_key, real_copy.deepcopy(before)))
            return write(self, table_name, first, *args, **kwargs)

        wrapper.__name__ = name
        setattr(backend_class, name, wrapper)

    def key_of_item(table: Any, _: str, attrs: dict[str, Any]) -> dict[str, Any]:
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key

    journaled("put_item", key_of_item)
    journaled("delete_item", lambda _table, _name, key: key)
    journaled("update_item", lambda _table, _name, key: key)

    transact = backend_class.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        journal: list[tuple[Any, Any, Any, Any]] = []
        _transaction.journal = journal
        try:
            transact(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, before in reversed(journal):
                _restore(table, hash_key, range_key, before)
            raise
        finally:
            _transaction.journal = None

    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]

    query = Table.query
    all_items = Table.all_items
    # Table.query's keyword parameters that are not legacy QueryFilter conditions (which moto passes as the rest).
    query_keywords = {
        "index_name",
        "consistent_read",
        "filter_expression",
        "hash_key_conditions",
        "range_key_conditions",
    }

    def table_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)
        range_comparison, range_objs = (*args, None, None)[:2]
        if partition is None:
            items = []
        elif self.range_key_attr:
            candidates = partition.values()
            if range_comparison and not kwargs.keys() - query_keywords:
                # Only the items the key condition selects. moto sizes every item of the partition (for the 1 MB
                # page) before it tests the key condition, so a begins_with in a partition of 500 devices sized all
                # 500: a DynamoDB query reads only the key range it names.
                candidates = [item for item in candidates if item.range_key.compare(range_comparison, range_objs)]
            # The order DynamoType's comparisons give, each key cast once rather than once per comparison.
            items = sorted(candidates, key=lambda item: item.range_key.cast_value)
        else:
            items = [partition]
        _partition.read = (self, items)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _partition.read = None

    def partition_items(self: Any) -> list[Any]:
        read = getattr(_partition, "read", None)
        if read is not None and read[0] is self:
            return list(read[1])
        result: list[Any] = all_items(self)
        return result

    Table.query = table_query  # type: ignore[method-assign]
    Table.all_items = partition_items  # type: ignore[method-assign]
    _installed_speed = True


def _restore(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    """Put one item back as it was before a cancelled transaction wrote it (or remove it if it was not there)."""
    if table.range_key_attr:
        partition = table.items.setdefault(hash_key, {})
        if before is None:
            partition.pop(range_key, None)
            if not partition:
                table.items.pop(hash_key, None)
        else:
            partition[range_key] = before
    elif before is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = before


def _method_names_once() -> None:
    from moto.core import responses, utils

    names_of = utils.method_names_from_class
    known: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        if clazz not in known:
            known[clazz] = names_of(clazz)
        return known[clazz]

    setattr(responses, "method_names_from_class", method_names_from_class)  # noqa: B010


# The data-plane operations whose answers moto builds as plain JSON-shaped dicts (tests/unit/test_adapters.py
# checks each against moto's own serializer).
_LEAN_DYNAMODB_OPERATIONS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)


def _plain(value: Any) -> bool:
    """Whether moto's serializer would give back `value` unchanged: strings, numbers, booleans, lists and
    string-keyed dicts of them, with no None (which the serializer drops) and no bytes (which it encodes)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    return kind is str or kind is bool or kind is int or kind is float


def moto_serialized(handler: Any, action_result: Any) -> Any:
    """moto's own serialization of an answer (what `_lean_dynamodb_answers` skips when it would change nothing)."""
    from moto.core.responses import BaseResponse

    return BaseResponse.serialized(handler, action_result)


def _lean_dynamodb_answers() -> None:
    import json

    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    plain_execute_result = ActionResult.execute_result  # DynamoResult's too; a paginated result's is its own
    members: dict[str, frozenset[str]] = {}  # an operation's answer members: the serializer drops the others

    def members_of(operation: str) -> frozenset[str]:
        if operation not in members:
            from moto.core.utils import get_service_model

            shape = get_service_model("dynamodb").operation_model(operation).output_shape
            members[operation] = frozenset(shape.members)
        return members[operation]

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        operation = self._get_action()
        if (
            type(result) is dict
            and operation in _LEAN_DYNAMODB_OPERATIONS
            and type(action_result).execute_result is plain_execute_result
        ):
            answer = {key: value for key, value in result.items() if key in members_of(operation)}
            if _plain(answer):
                headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
                return 200, headers, json.dumps(answer)
        return moto_serialized(self, action_result)

    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


def _update_expressions_parsed_once() -> None:
    import functools

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    make = UpdateExpressionParser.make
    # An expression that does not parse raises and is not kept; the expressions are the code's own constants.
    parsed = functools.lru_cache(maxsize=1024)(make)
    UpdateExpressionParser.make = staticmethod(parsed)


def _definitions_parsed_once() -> None:
    from moto.stepfunctions.parser.asl.component import eval_component
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.utils import long_uid

    parse = asl_parser.AmazonStateLanguageParser.parse
    parsed: dict[str, Any] = {}
    parsing = threading.Lock()

    def parse_once(definition: str) -> Any:
        with parsing:
            if definition not in parsed:
                parsed[definition] = parse(definition)  # a definition that does not parse raises, and is not kept
            return parsed[definition]

    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse_once)  # type: ignore[method-assign]

    def heap_key(self: Any) -> str:
        # dict.setdefault is one step under the GIL: two executions asking at once get the same key.
        key: str = self.__dict__.setdefault("_shared_heap_key", long_uid())
        return key

    eval_component.EvalComponent.heap_key = property(heap_key)  # type: ignore[method-assign,assignment]
