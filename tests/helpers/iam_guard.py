"""IAM in the in-process ring: every AWS call a handler makes is checked as its function's role.

A botocore `before-send` handler registered first on every session (BUILTIN_HANDLERS with REGISTER_FIRST: moto's
stubber is an ordinary handler of the same event, registered after it) finds the function whose handler is
running (`pollgate_local.functions.running_function`, set on the handler's thread) and checks the prepared
request with the same `Authorizer` the runtime puts in front of its services. A refused call raises the
ClientError botocore parses from the refusal AWS would send, and moto never sees the request. Outside a handler
the caller is the account's admin: nothing is checked.

Resources are named as the test named them: each variable the template sets from a resource (`TABLE_NAME: !Ref
Table`, `WEBHOOK_QUEUE_URL: !Ref WebhookQueue`, ...) says which physical resource that logical id is right now;
the others keep the runtime's local names (stack.py's symbol table).

Every denial is recorded. The integration ring's autouse `iam` fixture fails the test at teardown for any denial
outside `guard.expect_denied()`, so a missing grant fails its test even when the handler turned the AccessDenied
into a 500 or 503. `@pytest.mark.no_iam` (or POLLGATE_NO_IAM=1 for a whole run) turns the check off. With
POLLGATE_IAM_REPORT=<file>, the run writes the grants no call used to that file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS, REGISTER_FIRST
from botocore.parsers import create_parser
from pollgate_local import ACCOUNT, REGION
from pollgate_local.functions import LocalFunction, function_arn, running_function
from pollgate_local.iam import Authorizer, Denial, PolicyTemplate, Principal, Refusal, UsageRecord
from pollgate_local.stack import TEMPLATE, LocalStack

_HANDLER_ID = "pollgate-iam-guard"


class IamGuard:
    """The template's roles, resolved against whatever the current test named its resources."""

    def __init__(self, template_path: Path = TEMPLATE) -> None:
        stack = LocalStack(template_path)
        source = stack._source  # the template as SAM CLI's providers read it, and its parameters
        self._template = PolicyTemplate.translate(source.template_dict, source.parameters)
        self._defaults = stack._symbols()
        self._variables = _resource_variables(self._template.translated)
        self._code_dirs = _code_dirs(source.resources, template_path.resolve().parent)
        self.usage = UsageRecord()
        self._lock = threading.Lock()
        self._authorizers: dict[tuple[tuple[str, str | None], ...], Authorizer] = {}
        self.denials: list[Denial] = []
        self._expected: list[Denial] | None = None

    def authorizer(self) -> Authorizer:
        """The check for the resources the environment names now (tests set them per test)."""
        key = tuple((variable, os.environ.get(variable)) for variable in sorted(self._variables))
        with self._lock:
            found = self._authorizers.get(key)
            if found is None:
                symbols = dict(self._defaults)
                for variable, value in key:
                    if value:
                        logical_id, kind = self._variables[variable]
                        symbols[logical_id] = _symbol(kind, value)
                found = Authorizer(self._template.resolve(symbols), self._record, usage=self.usage)
                self._authorizers[key] = found
            return found

    def principal_of(self, function: LocalFunction) -> Principal:
        """The function's principal, by logical id or, for the Function fixture (named by folder), by code folder."""
        policies = self.authorizer().policies
        logical_id = (
            function.logical_id
            if function.logical_id in self._code_dirs.values()
            else self._code_dirs.get(function.code_dir.resolve())
        )
        if logical_id is None:
            raise LookupError(f"{function.code_dir} is the code of no function in the template: whose role is it?")
        return policies.principal(logical_id)

    def check(self, function: LocalFunction, request: AWSPreparedRequest, operation: str) -> None:
        """Raise the ClientError AWS would give when the function's role does not allow the request."""
        authorizer = self.authorizer()
        body = request.body if isinstance(request.body, bytes | str) else b""  # a stream: S3 payloads, never read
        refusal = authorizer.authorize_as(
            self.principal_of(function), request.method, request.url, dict(request.headers.items()), body
        )
        if refusal is not None:
            raise ClientError(_parsed(refusal), operation)  # type: ignore[arg-type]

    @contextmanager
    def expect_denied(self) -> Iterator[list[Denial]]:
        """Denials inside the block are the test's business (it asserts them), not a failure."""
        expected: list[Denial] = []
        self._expected = expected
        try:
            yield expected
        finally:
            self._expected = None

    def unexpected_denials(self) -> list[Denial]:
        with self._lock:
            found, self.denials = self.denials, []
        return found

    def report(self) -> str:
        """The grants no call used, and the principals that made no checked call at all."""
        idle = sorted(
            p.logical_id for p in self.authorizer().policies.principals if p.logical_id not in self.usage.callers
        )
        lines = [f"unused grant  {grant.describe()}" for grant in self.usage.unused_grants()]
        lines += [f"never called  {logical_id}" for logical_id in idle]
        return "\n".join(lines) + "\n"

    def _record(self, denial: Denial) -> None:
        with self._lock:
            (self._expected if self._expected is not None else self.denials).append(denial)


_active: IamGuard | None = None


@cache
def session_guard() -> IamGuard:
    """One guard per test run (translating the template takes about a second)."""
    return IamGuard()


@contextmanager
def enforced(*, off: bool = False, guard: IamGuard | None = None) -> Iterator[IamGuard | None]:
    """Check every handler's AWS calls inside the block (against template.yaml, unless given another guard);
    fail the test for any denial it did not expect."""
    global _active
    if off or os.environ.get("POLLGATE_NO_IAM") == "1":
        yield None
        return
    guard = guard or session_guard()
    _register_on_default_session()
    guard.unexpected_denials()  # nothing left over from a test that failed before its teardown
    _active = guard
    try:
        yield guard
    finally:
        _active = None
    denied = guard.unexpected_denials()
    if denied:
        pytest.fail(
            "IAM refused calls the template does not grant (fix the Policies: in template.yaml):\n"
            + "\n".join(sorted({d.log_line() for d in denied})),
            pytrace=False,
        )


def write_report() -> None:
    """POLLGATE_IAM_REPORT=<file>: what the run's usage record says about the template's grants."""
    target = os.environ.get("POLLGATE_IAM_REPORT")
    if target and session_guard.cache_info().currsize:
        Path(target).write_text(session_guard().report())


def _before_send(request: AWSPreparedRequest, event_name: str = "", **_: Any) -> None:
    guard, function = _active, running_function.get()
    if guard is not None and function is not None:
        guard.check(function, request, event_name.rsplit(".", 1)[-1])


def _register_on_default_session() -> None:
    """Sessions made after this module was imported have the handler from BUILTIN_HANDLERS; boto3's default
    session may be older."""
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.register_first("before-send", _before_send, unique_id=_HANDLER_ID)


BUILTIN_HANDLERS.append(("before-send", _before_send, REGISTER_FIRST))


def _parsed(refusal: Refusal) -> dict[str, Any]:
    """The refusal as botocore parses AWS's answer: the same Error.Code and Message a real refusal gives."""
    response = {"status_code": refusal.status, "headers": HeadersDict(refusal.headers), "body": refusal.body}
    parser: Any = create_parser(refusal.protocol)  # no output shape: an error answer needs none
    parsed: dict[str, Any] = parser.parse(response, None)
    return parsed


def _resource_variables(translated: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Function variable -> (logical id, type) of the resource the template sets it from with a plain !Ref."""
    resources: Mapping[str, Any] = translated.get("Resources") or {}
    found: dict[str, tuple[str, str]] = {}
    for resource in resources.values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for variable, value in variables.items():
            target = value.get("Ref") if isinstance(value, dict) and list(value) == ["Ref"] else None
            if isinstance(target, str) and target in resources and resources[target].get("Type") in _SYMBOLS:
                found[variable] = (target, str(resources[target]["Type"]))
    return found


_SYMBOLS: dict[str, Callable[[str], dict[str, str]]] = {
    "AWS::DynamoDB::Table": lambda name: {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"},
    "AWS::SQS::Queue": lambda url: {
        "Ref": url,
        "QueueUrl": url,
        "QueueName": url.rstrip("/").rsplit("/", 1)[-1],
        "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rstrip('/').rsplit('/', 1)[-1]}",
    },
    "AWS::SecretsManager::Secret": lambda arn: {"Ref": arn, "Id": arn},
    "AWS::StepFunctions::StateMachine": lambda arn: {"Ref": arn, "Arn": arn, "Name": arn.rsplit(":", 1)[-1]},
    "AWS::S3::Bucket": lambda name: {"Ref": name, "Arn": f"arn:aws:s3:::{name}"},
    "AWS::Lambda::Function": lambda name: {"Ref": name, "Arn": function_arn(name)},
}


def _symbol(kind: str, value: str) -> dict[str, str]:
    """A resource's symbols (Ref and attributes) from what its Ref gives: a name, a queue URL or an ARN."""
    return _SYMBOLS[kind](value)


def _code_dirs(resources: Mapping[str, Any], base: Path) -> dict[Path, str]:
    """Function code folder -> logical id (the Function fixture names a function by its folder)."""
    found = {}
    for logical_id, resource in resources.items():
        code = (resource.get("Properties") or {}).get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code, str):
            found[(base / code).resolve()] = logical_id
    return found
