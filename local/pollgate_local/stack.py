"""template.yaml on moto, with every function runnable in process: the harness behind `pollgate run` and the tests.

The template is read through SAM CLI's own providers (as `sam local` reads it): SamLocalStackProvider for the
stack and its parameters, SamFunctionProvider for functions (handler, code folder, layers, environment,
events), ApiProvider for HTTP API routes. References are resolved with SAM's IntrinsicResolver, fed a symbol
table of the local resources: `!Ref Table` becomes the local table name, `!GetAtt Fn.Arn` becomes
`arn:aws:lambda:us-east-1:123456789012:function:<LogicalId>`, `!Ref Queue` the queue URL, `!Ref Secret` the
secret ARN, `!Ref StateMachine` its ARN.

Use it in a test (integration ring)::

    from moto import mock_aws
    from pollgate_local.stack import LocalStack, MOTO_CONFIG

    with mock_aws(config=MOTO_CONFIG), LocalStack() as stack:   # LocalStack() reads the repository's template.yaml
        local = stack.provision()                 # tables, queues, secrets, state machines; sets os.environ
        stack.start_invoke_server()               # state-machine lambda tasks now run the real handlers
        answer = stack.invoke("UaiUploadKeyFunction", event)            # dict, as Lambda returns it
        arn = local.state_machines["UaiStatusLogStateMachine"]
        execution = stack.wait_for_execution(execution_arn, timeout=10)  # DescribeExecution output
    # leaving the block stops the invoke server and restores os.environ

`provision()` returns a `Provisioned`: physical names (`tables`, `queues` (URLs), `queue_arns`, `buckets`, `secrets`
(ARNs), `secret_values`, `state_machines` (ARNs)), `environment` (resolved variables per function) and
`shared_environment` (their union, which provision() puts in os.environ: functions share one process, so two
functions giving one variable different values is an error at start). Functions: `stack.functions[logical_id]`
(`LocalFunction.invoke(event)`), `stack.function(name_or_arn_or_logical_id)`; SQS and schedule event sources:
`stack.sqs_sources()`, `stack.schedules()`; HTTP routes: `stack.api()` (SAM's Api object).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.provider import Api, Stack
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.lib.samlib.resource_metadata_normalizer import ResourceMetadataNormalizer
from samcli.lib.samlib.wrapper import SamTranslatorWrapper

from pollgate_local import ACCOUNT, REGION, adapters
from pollgate_local.functions import Function, LocalFunction, function_arn
from pollgate_local.invoke_server import LambdaInvokeServer, function_name_of

if TYPE_CHECKING:
    from pollgate_local.iam import PolicySet

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# moto runs the real ASL definitions (its interpreter is a port of LocalStack's) instead of faking a success.
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}}

# The template's parameters as the local runtime sets them: resource names say "local".
LOCAL_PARAMETERS = {"Stage": "local"}

_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
# Resources whose logical id is what a local reference should give (SAM's providers match on it).
_REFERENCED_BY_LOGICAL_ID = ("AWS::Serverless::LayerVersion", "AWS::Serverless::HttpApi", "AWS::Serverless::Api")
# What IntrinsicResolver leaves behind for a reference it could not resolve (ignore_errors=True).
_UNRESOLVED = re.compile(r"^\$[A-Za-z0-9]+\.[A-Za-z0-9.]+$")


class TemplateError(RuntimeError):
    """The template asks for something the local runtime cannot give faithfully; raised at start, never later."""


def checked_overrides(declared: dict[str, Any], overrides: dict[str, str]) -> None:
    """Refuses overrides CloudFormation would refuse: each must name a parameter of the template and meet its
    constraints (Number, MinValue/MaxValue, AllowedValues, AllowedPattern, MinLength/MaxLength). Else a
    TemplateError worded as CreateStack's refusal, at start: a value AWS refuses never runs locally."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    for name, value in overrides.items():
        spec = declared[name] or {}
        kind = str(spec.get("Type", "String"))
        listed = kind.startswith(("List<", "CommaDelimitedList"))
        elements = [v.strip() for v in value.split(",")] if listed else [value]
        for element in elements:
            problem = _parameter_problem(spec, "Number" in kind, element)
            if problem:
                raise TemplateError(f"Parameter '{name}' {problem}")


def _parameter_problem(spec: dict[str, Any], numeric: bool, value: str) -> str | None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        return "must be one of AllowedValues"
    if numeric:
        try:
            number = float(value)
        except ValueError:
            return "must be a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"must be a number not less than {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"must be a number not greater than {spec['MaxValue']}"
        return None
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"must contain at least {spec['MinLength']} characters"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"must contain at most {spec['MaxLength']} characters"
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        return f"failed to satisfy constraint: {spec.get('ConstraintDescription') or f'Must match pattern {pattern}'}"
    return None


@dataclass(frozen=True)
class SqsSource:
    """An `Events: Type: SQS` of a function."""

    function: str  # logical id
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    maximum_concurrency: int


@dataclass(frozen=True)
class Schedule:
    """An `Events: Type: Schedule | ScheduleV2` of a function with a `rate(...)` expression."""

    function: str
    name: str
    expression: str
    period_seconds: float | None  # None: a cron expression, which the local runtime does not fire
    input: Any


@dataclass
class Provisioned:
    """What provision() created, by logical id, and the environment each function gets."""

    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    secret_values: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    environment: dict[str, dict[str, str]] = field(default_factory=dict)
    shared_environment: dict[str, str] = field(default_factory=dict)


class LocalStack:
    """The template's resources in moto (whatever AWS is active: mock_aws in process, or a moto server)."""

    def __init__(
        self,
        template_path: str | Path = TEMPLATE,
        parameters: dict[str, str] | None = None,
        name_prefix: str = "pollgate-local",
        overrides: dict[str, str] | None = None,
    ) -> None:
        """`parameters`: what the runtime sets where the template has them; `overrides`: the user's
        (`--parameter-overrides`), refused as CloudFormation refuses them, and applied last."""
        self.template_path = Path(template_path).resolve()
        self.name_prefix = name_prefix
        stacks, _ = SamLocalStackProvider.get_stacks(
            str(self.template_path),
            parameter_overrides={**LOCAL_PARAMETERS, **(parameters or {}), **(overrides or {})},
            global_parameter_overrides={"AWS::Region": REGION, "AWS::AccountId": ACCOUNT},
        )
        if len(stacks) != 1:
            raise TemplateError("nested stacks are not supported by the local runtime")
        checked_overrides(stacks[0].template_dict.get("Parameters") or {}, overrides or {})
        self._source = stacks[0]
        self._stack: Stack | None = None
        self.functions: dict[str, Function] = {}
        self.provisioned = Provisioned()
        self._invoke_server: LambdaInvokeServer | None = None
        self._saved_environment: dict[str, str | None] = {}
        self._symbols_final: dict[str, dict[str, Any]] = {}
        # Where the record of executions is read: moto in this process, unless the runtime says otherwise.
        self.executions_source: Callable[..., list[dict[str, Any]]] = adapters.executions
        adapters.faster_moto()
        adapters.one_request_at_a_time()  # in process, moto is called from many threads at once
        adapters.express_semantics()  # AWS offers no DescribeExecution & co. for Express workflows; nor does moto here

    # ------------------------------------------------------------------ provisioning
    def provision(self, *, set_environment: bool = True) -> Provisioned:
        """Create every table, queue, secret and state machine in moto and prepare every function."""
        symbols = self._symbols()
        resources = self._resolve(symbols)["Resources"]
        done = Provisioned()
        for logical_id, resource in resources.items():
            kind, props = resource.get("Type"), resource.get("Properties") or {}
            if kind == "AWS::DynamoDB::Table":
                done.tables[logical_id] = self._create_table(symbols[logical_id]["Ref"], props)
            elif kind == "AWS::SQS::Queue":
                url = self._create_queue(symbols[logical_id]["QueueName"], props)
                done.queues[logical_id] = symbols[logical_id]["Ref"] = symbols[logical_id]["QueueUrl"] = url
                done.queue_arns[logical_id] = symbols[logical_id]["Arn"]
            elif kind == "AWS::S3::Bucket":
                done.buckets[logical_id] = self._create_bucket(symbols[logical_id]["Ref"])
            elif kind == "AWS::SecretsManager::Secret":
                arn, value = self._create_secret(symbols[logical_id]["Name"], props)
                done.secrets[logical_id] = symbols[logical_id]["Ref"] = symbols[logical_id]["Id"] = arn
                done.secret_values[logical_id] = value
        # Queue URLs and secret ARNs are known only now: resolve once more, with every symbol final.
        template = self._resolve(symbols)
        for logical_id, resource in template["Resources"].items():
            if resource.get("Type") in _STATE_MACHINE_TYPES:
                done.state_machines[logical_id] = self._create_state_machine(
                    logical_id, symbols[logical_id]["Name"], resource.get("Properties") or {}
                )
        self._stack = Stack(
            self._source.parent_stack_path,
            self._source.name,
            str(self.template_path),
            self._source.parameters,
            template,
            self._source.metadata,
        )
        self._load_functions(done, symbols)
        self._symbols_final = symbols
        done.shared_environment = shared_environment(done.environment)
        if set_environment:
            self._set_environment(done.shared_environment)
        self.provisioned = done
        return done

    def _symbols(self) -> dict[str, dict[str, Any]]:
        """Local physical names and ARNs of the resources, as IntrinsicsSymbolTable's logical_id_translator."""
        symbols: dict[str, dict[str, Any]] = {}
        # SAM's own resolution (parameters, !Sub) gives the names the template sets explicitly.
        for logical_id, resource in self._source.resources.items():
            kind, props = resource.get("Type"), resource.get("Properties") or {}
            default = f"{self.name_prefix}-{logical_id}"
            if kind == "AWS::DynamoDB::Table":
                name = props.get("TableName") or default
                symbols[logical_id] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
            elif kind == "AWS::SQS::Queue":
                name = props.get("QueueName") or default + (".fifo" if props.get("FifoQueue") else "")
                url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
                symbols[logical_id] = {
                    "Ref": url,
                    "QueueUrl": url,
                    "QueueName": name,
                    "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                }
            elif kind == "AWS::SecretsManager::Secret":
                name = props.get("Name") or default
                arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}"
                symbols[logical_id] = {"Ref": arn, "Id": arn, "Name": name}
            elif kind in _STATE_MACHINE_TYPES:
                name = props.get("Name") or props.get("StateMachineName") or default
                arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
                symbols[logical_id] = {"Ref": arn, "Arn": arn, "Name": name}
            elif kind in _FUNCTION_TYPES:
                name = props.get("FunctionName") or logical_id
                symbols[logical_id] = {"Ref": name, "Arn": function_arn(name)}
            elif kind == "AWS::S3::Bucket":
                name = props.get("BucketName") or default.lower()  # bucket names are lower case
                symbols[logical_id] = {
                    "Ref": name,
                    "Arn": f"arn:aws:s3:::{name}",
                    "DomainName": f"{name}.s3.amazonaws.com",
                    "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
                }
            elif kind == "AWS::Logs::LogGroup":
                name = props.get("LogGroupName") or default
                symbols[logical_id] = {"Ref": name, "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"}
            # Layers and APIs keep their logical ids: SAM's function and API providers match on them.
        return symbols

    def _resolve(self, symbols: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The template after SAM's plugins (Globals merged) with every reference resolved to `symbols`."""
        parameters = adapters.sam_parameter_values(self._source.template_dict, self._source.parameters)
        template = SamTranslatorWrapper(self._source.template_dict, parameter_values=parameters).run_plugins()
        ResourceMetadataNormalizer.normalize(template)
        logical_ids = list(template.get("Resources", {}))
        table = IntrinsicsSymbolTable(logical_id_translator={**parameters, **symbols}, template=template)
        resolved: dict[str, Any] = IntrinsicResolver(template=template, symbol_resolver=table).resolve_template(
            ignore_errors=True
        )
        # The resolver also renames each resource to its Ref value; the providers need the logical ids back.
        resources = list(resolved["Resources"].values())
        if len(resources) != len(logical_ids):
            raise TemplateError("two resources resolve to one physical name")
        resolved["Resources"] = dict(zip(logical_ids, resources, strict=True))
        return resolved

    @staticmethod
    def _create_table(name: str, props: dict[str, Any]) -> str:
        client = boto3.client("dynamodb", region_name=REGION)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput", "StreamSpecification"):
            if key in props:
                kwargs[key] = props[key]
        client.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        return name

    @staticmethod
    def _create_queue(name: str, props: dict[str, Any]) -> str:
        attributes: dict[str, Any] = {}
        for key, value in props.items():
            if key in ("QueueName", "Tags"):
                continue
            if isinstance(value, dict):
                value = json.dumps(value)
            elif isinstance(value, bool):
                value = str(value).lower()
            attributes[key] = str(value)
        sqs: Any = boto3.client("sqs", region_name=REGION)  # attribute names come from the template, unchecked
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    @staticmethod
    def _create_bucket(name: str) -> str:
        # Encryption, public-access blocks and lifecycle rules change nothing a local client can observe.
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=name)
        return name

    @staticmethod
    def _create_secret(name: str, props: dict[str, Any]) -> tuple[str, str]:
        value = props.get("SecretString")
        generate = props.get("GenerateSecretString")
        if value is None and generate is not None:
            value = generated_secret(generate)
        answer = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=name, SecretString=str(value or "")
        )
        return str(answer["ARN"]), str(value or "")

    def _create_state_machine(self, logical_id: str, name: str, props: dict[str, Any]) -> str:
        definition: Any = props.get("Definition") or props.get("DefinitionString")
        uri = props.get("DefinitionUri")
        if definition is None and isinstance(uri, str):
            definition = (self.template_path.parent / uri).read_text()
        if definition is None:
            raise TemplateError(f"{logical_id}: only Definition, DefinitionString or a local DefinitionUri run locally")
        text = definition if isinstance(definition, str) else json.dumps(definition)
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            _require_resolved(f"{logical_id} DefinitionSubstitutions.{key}", value)
            text = text.replace("${" + key + "}", str(value))
        leftover = re.findall(r"\$\{[A-Za-z0-9_]+\}", text)
        if leftover:
            raise TemplateError(f"{logical_id}: definition substitutions not given: {sorted(set(leftover))}")
        kwargs: dict[str, Any] = {
            "name": name,
            "definition": text,
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{self.name_prefix}-{logical_id}",
        }
        if props.get("Type"):
            kwargs["type"] = props["Type"]
        answer = boto3.client("stepfunctions", region_name=REGION).create_state_machine(**kwargs)
        return str(answer["stateMachineArn"])

    def _load_functions(self, done: Provisioned, symbols: dict[str, dict[str, Any]]) -> None:
        provider = SamFunctionProvider([self._require_stack()], ignore_code_extraction_warnings=True)
        # A !Ref to a resource without a local symbol resolves to its bare logical id: refuse that in env values.
        not_created = {
            logical_id: str(resource.get("Type"))
            for logical_id, resource in self._source.resources.items()
            if logical_id not in symbols and resource.get("Type") not in _REFERENCED_BY_LOGICAL_ID
        }
        resources = self._require_stack().template_dict["Resources"]
        for function in provider.get_all():
            if function.packagetype != "Zip" or not function.codeuri or not function.handler:
                raise TemplateError(f"{function.name}: only zip functions with local code run in process")
            code_dir = Path(function.codeuri)
            if not code_dir.is_absolute():
                code_dir = self.template_path.parent / code_dir
            variables = (function.environment or {}).get("Variables") or {}
            environment = {}
            for key, value in variables.items():
                _require_resolved(f"{function.name} environment {key}", value)
                if isinstance(value, str) and value in not_created:
                    raise TemplateError(
                        f"{function.name} environment {key}: the local runtime does not create "
                        f"{value} ({not_created[value]}); teach stack.py to"
                    )
                environment[key] = str(value).lower() if isinstance(value, bool) else str(value)
            done.environment[function.name] = environment
            layers = [
                folder
                for layer in function.layers
                if (folder := _add_layer_to_path(layer.codeuri, self.template_path.parent)) is not None
            ]
            self.functions[function.name] = LocalFunction(
                logical_id=function.name,
                name=function.functionname,
                arn=function_arn(function.functionname),
                code_dir=code_dir,
                handler=function.handler,
                timeout_seconds=float(function.timeout or 3),
                memory_mb=int(function.memory or 128),
                environment=environment,
                layers=tuple(layers),
                reserved_concurrency=_whole_number(
                    (resources.get(function.name, {}).get("Properties") or {}).get("ReservedConcurrentExecutions")
                ),
            )

    def _require_stack(self) -> Stack:
        if self._stack is None:
            raise RuntimeError("call provision() first")
        return self._stack

    # ------------------------------------------------------------------ running
    def function(self, identifier: str) -> Function | None:
        """A function by logical id, function name or ARN."""
        name = function_name_of(identifier)
        if name in self.functions:
            return self.functions[name]
        return next((f for f in self.functions.values() if f.name == name), None)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run one function once, in process; raises FunctionError when the handler fails."""
        function = self.function(logical_id)
        if function is None:
            raise KeyError(f"no function {logical_id!r} in {self.template_path.name}")
        return function.invoke(event)

    def start_invoke_server(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve the Lambda Invoke API (on `host`) and point AWS_ENDPOINT_URL_LAMBDA at it; returns the endpoint."""
        if self._invoke_server is None:
            self._invoke_server = LambdaInvokeServer(self.function, port, host=host)
        url = self._invoke_server.start()
        self._set_environment({"AWS_ENDPOINT_URL_LAMBDA": url})
        return url

    def stop(self) -> None:
        """Stop the invoke server and give os.environ back the values it had before provision()."""
        if self._invoke_server is not None:
            self._invoke_server.stop()
            self._invoke_server = None
        for key, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environment.clear()
        _reset_core_caches()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_environment(self, variables: dict[str, str]) -> None:
        for key in variables:
            self._saved_environment.setdefault(key, os.environ.get(key))
        os.environ.update(variables)
        _reset_core_caches()

    def executions(self, state_machine: str | None = None, *, history: bool = False) -> list[dict[str, Any]]:
        """The runtime's record of executions (a state machine's ARN or logical id narrows it), as DescribeExecution
        describes them; `history` adds each one's events. AWS has no such API for Express workflows: only tests,
        benchmarks and the runtime read it."""
        arn = self.provisioned.state_machines.get(state_machine or "", state_machine)
        return self.executions_source(arn, history=history)

    def wait_for_execution(self, execution_arn: str, timeout: float = 10.0, interval: float = 0.02) -> dict[str, Any]:
        """The execution's record once it has left RUNNING; TimeoutError after `timeout` seconds."""
        parts = execution_arn.split(":")
        machine = ":".join([*parts[:5], "stateMachine", parts[6]])
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.executions(machine) if e["executionArn"] == execution_arn]
            if found and found[0]["status"] != "RUNNING":
                return found[0]
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING (or never started) after {timeout} s")
            time.sleep(interval)

    def policies(self) -> PolicySet:
        """Every function's and state machine's role as the template grants it, on the resources provisioned."""
        from pollgate_local.iam import PolicySet

        return PolicySet.from_template(self._source.template_dict, self._source.parameters, self._symbols_final)

    def state_machine_principals(self) -> dict[str, str]:
        """state machine ARN -> its logical id (the principal its tasks run as)."""
        return {arn: logical_id for logical_id, arn in self.provisioned.state_machines.items()}

    # ------------------------------------------------------------------ event sources and routes
    def api(self) -> Api:
        """Every HTTP route of the template (SAM's ApiProvider), with function names as logical ids."""
        return ApiProvider([self._require_stack()]).api

    def resources(self) -> dict[str, Any]:
        """The template's resources with every parameter and reference resolved (after provision())."""
        return dict(self._require_stack().template_dict["Resources"])

    def http_routes(self) -> list[tuple[str, str, str, str]]:
        """(api logical id, method, path, function logical id) for every HttpApi event in the template."""
        routes = []
        for logical_id, events in self._events_by_function():
            for event in events.values():
                if event.get("Type") == "HttpApi":
                    props = event.get("Properties") or {}
                    api_id = props.get("ApiId") or "ServerlessHttpApi"
                    routes.append(
                        (
                            str(api_id),
                            str(props.get("Method", "ANY")).upper(),
                            str(props.get("Path", "$default")),
                            logical_id,
                        )
                    )
        return routes

    def sqs_sources(self) -> list[SqsSource]:
        by_arn = {arn: self.provisioned.queues[logical] for logical, arn in self.provisioned.queue_arns.items()}
        sources = []
        for logical_id, events in self._events_by_function():
            for event_name, event in events.items():
                if event.get("Type") != "SQS":
                    continue
                props = event.get("Properties") or {}
                if props.get("Enabled") is False:
                    continue
                queue_arn = str(props.get("Queue"))
                if queue_arn not in by_arn:
                    raise TemplateError(f"{logical_id}.{event_name}: queue {queue_arn} is not a queue of the template")
                scaling = props.get("ScalingConfig") or {}
                sources.append(
                    SqsSource(
                        function=logical_id,
                        queue_url=by_arn[queue_arn],
                        queue_arn=queue_arn,
                        batch_size=int(props.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (props.get("FunctionResponseTypes") or []),
                        maximum_concurrency=int(scaling.get("MaximumConcurrency", 2)),
                    )
                )
        return sources

    def schedules(self) -> list[Schedule]:
        found = []
        for logical_id, events in self._events_by_function():
            for event_name, event in events.items():
                if event.get("Type") not in ("Schedule", "ScheduleV2"):
                    continue
                props = event.get("Properties") or {}
                if props.get("Enabled") is False or props.get("State") == "DISABLED":
                    continue
                expression = str(props.get("Schedule") or props.get("ScheduleExpression") or "")
                raw_input = props.get("Input")
                found.append(
                    Schedule(
                        function=logical_id,
                        name=event_name,
                        expression=expression,
                        period_seconds=rate_seconds(expression),
                        input=json.loads(raw_input) if isinstance(raw_input, str) else None,
                    )
                )
        return found

    def _events_by_function(self) -> list[tuple[str, dict[str, Any]]]:
        resources = self._require_stack().template_dict["Resources"]
        return [
            (logical_id, (resource.get("Properties") or {}).get("Events") or {})
            for logical_id, resource in resources.items()
            if resource.get("Type") == "AWS::Serverless::Function"
        ]


def shared_environment(per_function: dict[str, dict[str, str]]) -> dict[str, str]:
    """The union of every function's variables; a variable two functions set differently is an error."""
    union: dict[str, str] = {}
    owner: dict[str, str] = {}
    clashes = []
    for function, variables in sorted(per_function.items()):
        for key, value in variables.items():
            if key in union and union[key] != value:
                clashes.append(f"{key}: {owner[key]}={union[key]!r} but {function}={value!r}")
            else:
                union.setdefault(key, value)
                owner.setdefault(key, function)
    if clashes:
        raise TemplateError(
            "functions run in one process and share os.environ, but they disagree on: " + "; ".join(clashes)
        )
    return union


def rate_seconds(expression: str) -> float | None:
    """`rate(5 minutes)` -> 300.0; a cron expression -> None."""
    match = re.fullmatch(r"\s*rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)\s*", expression)
    if not match:
        return None
    unit = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[match.group(2)]
    return float(int(match.group(1)) * unit)


def generated_secret(spec: dict[str, Any]) -> str:
    """A random local value for GenerateSecretString (length, exclusions and the JSON template honoured)."""
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    if spec.get("ExcludeUppercase"):
        alphabet = "".join(c for c in alphabet if not c.isupper())
    if spec.get("ExcludeLowercase"):
        alphabet = "".join(c for c in alphabet if not c.islower())
    if spec.get("ExcludeNumbers"):
        alphabet = "".join(c for c in alphabet if not c.isdigit())
    alphabet = "".join(c for c in alphabet if c not in str(spec.get("ExcludeCharacters", "")))
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template and key:
        return json.dumps({**json.loads(template), key: value})
    return value


def _require_resolved(where: str, value: Any) -> None:
    if isinstance(value, dict | list) or (isinstance(value, str) and _UNRESOLVED.match(value)):
        raise TemplateError(f"{where}: the local runtime cannot resolve {value!r}")


def _add_layer_to_path(codeuri: str | None, base: Path) -> str | None:
    """A local layer's code importable, as Lambda puts /opt/python on the path (the core is usually installed);
    answers the folder (what a sandbox puts on its own path)."""
    if not codeuri:
        return None
    folder = Path(codeuri) if Path(codeuri).is_absolute() else base / codeuri
    for candidate in (folder / "python", folder):
        if candidate.is_dir():
            if str(candidate) not in sys.path:
                sys.path.append(str(candidate))
            return str(candidate)
    return None


def _whole_number(value: Any) -> int | None:
    """A resolved integer property; None where the template leaves it unset (or to a condition not resolved)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _reset_core_caches() -> None:
    """The core caches settings and clients per process; the environment just changed under it."""
    try:
        from pollgate import aws, settings
    except ImportError:
        return
    settings.reset_settings()
    aws.reset_clients()
