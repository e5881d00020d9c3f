"""`pollgate`: the local runtime behind `make run`.

pollgate run [--port 3000] [--aws-port 4566] [--lambda-port 3001] [--no-demo] [--no-iam] [--log-level WARNING]
pollgate run --services-only          # only the AWS services (moto), for `sam local start-api` with Docker
pollgate local invoke <LogicalId> [--event events/x.json] [--endpoint http://127.0.0.1:3001]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from pollgate_local.stack import TEMPLATE


def _say(line: str) -> None:
    print(line, flush=True)


class QuietMetrics(io.TextIOBase):
    """stdout without the CloudWatch EMF blobs Powertools Metrics prints after every invocation.

    They are noise on a console (`--log-level INFO` or `DEBUG` shows them); everything else passes through.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._dropped = threading.local()  # print() writes the blob, then its "\n", separately

    def write(self, text: str) -> int:
        dropped, self._dropped.last = getattr(self._dropped, "last", False), False
        if text.startswith('{"_aws":'):
            self._dropped.last = True
            return len(text)
        if dropped and text == "\n":
            return len(text)
        return int(self._stream.write(text))

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(self._stream.isatty())


def parameter_overrides(values: list[str]) -> dict[str, str]:
    """`--parameter-overrides` read by SAM CLI's own parser, so that what `sam deploy` takes is taken here."""
    if not values:
        return {}
    import click
    from samcli.cli.types import CfnParameterOverridesType

    try:
        parsed: dict[str, str] = CfnParameterOverridesType().convert(tuple(values), None, None)
    except click.BadParameter as error:
        raise SystemExit(f"pollgate: --parameter-overrides: {error.message}") from error
    return parsed


def run(args: argparse.Namespace) -> int:
    from pollgate_local.runtime import Options, Runtime
    from pollgate_local.servers import PortInUseError
    from pollgate_local.stack import TemplateError

    options = Options(
        template=Path(args.template),
        port=args.port,
        aws_port=args.aws_port,
        lambda_port=args.lambda_port,
        services_only=args.services_only,
        demo=not args.no_demo,
        log_level=args.log_level,
        iam=not args.no_iam,
        parameter_overrides=parameter_overrides(args.parameter_overrides),
    )
    if logging.getLevelName(args.log_level.upper()) not in (logging.DEBUG, logging.INFO):
        sys.stdout = QuietMetrics(sys.stdout)
        warnings.filterwarnings("ignore", message="No application metrics to publish")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    runtime = Runtime(options, _say)
    try:
        runtime.start()
    except (PortInUseError, TemplateError) as error:
        print(f"pollgate: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        while not stopping.wait(0.5):  # a bounded wait, so signals are handled promptly
            pass
    finally:
        _say("pollgate: stopping")
        runtime.stop()
    return 0


def invoke(args: argparse.Namespace) -> int:
    event: Any = json.loads(Path(args.event).read_text()) if args.event else {}
    if args.endpoint:
        return _invoke_remote(args.endpoint, args.function, event)
    from moto import mock_aws

    from pollgate_local.environment import RUNTIME_ENVIRONMENT
    from pollgate_local.functions import FunctionError
    from pollgate_local.stack import MOTO_CONFIG, LocalStack

    os.environ.update(RUNTIME_ENVIRONMENT)
    with mock_aws(config=MOTO_CONFIG), LocalStack(args.template) as stack:
        stack.provision()
        stack.start_invoke_server()
        try:
            answer = stack.invoke(args.function, event)
        except FunctionError as error:
            print(json.dumps(error.payload(), indent=2))
            return 1
        except KeyError as error:
            print(f"pollgate: {error.args[0]}", file=sys.stderr)
            return 2
    print(json.dumps(answer, indent=2))
    return 0


def _invoke_remote(endpoint: str, function: str, event: Any) -> int:
    """Invoke through a running runtime's Lambda endpoint, so the function sees that runtime's data."""
    request = urllib.request.Request(  # noqa: S310 - the user's own endpoint, normally loopback
        f"{endpoint.rstrip('/')}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            failed = answer.headers.get("X-Amz-Function-Error")
            body = json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        print(f"pollgate: {error.code} {error.read().decode(errors='replace')}", file=sys.stderr)
        return 2
    except urllib.error.URLError as error:
        print(f"pollgate: cannot reach {endpoint}: {error.reason}", file=sys.stderr)
        return 2
    print(json.dumps(body, indent=2))
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pollgate", description="pollgate's local runtime (no Docker, no AWS).")
    commands = root.add_subparsers(dest="command", required=True)
    start = commands.add_parser("run", help="serve every API of template.yaml on loopback, with demo data")
    start.add_argument("--port", type=int, default=3000, help="HTTP APIs (default 3000)")
    start.add_argument("--aws-port", type=int, default=4566, help="moto's AWS endpoint (default 4566)")
    start.add_argument("--lambda-port", type=int, default=3001, help="the Lambda Invoke endpoint (default 3001)")
    start.add_argument(
        "--services-only",
        action="store_true",
        help="only the AWS services and the Lambda endpoint, for `sam local start-api`",
    )
    start.add_argument("--no-demo", action="store_true", help="do not seed demo data")
    start.add_argument(
        "--no-iam", action="store_true", help="do not check each function's calls against its role's policies"
    )
    start.add_argument("--log-level", default="WARNING", help="the template's LogLevel for function logs")
    start.add_argument(
        "--parameter-overrides",
        action="append",
        default=[],
        metavar="'Key=Value ...'",
        help="template parameters, as `sam deploy` takes them (Key=Value or ParameterKey=K,ParameterValue=V,"
        " space-separated; refused as CloudFormation refuses them)",
    )
    start.add_argument("--template", default=str(TEMPLATE))
    start.set_defaults(handler=run)
    local = commands.add_parser("local", help="one-off commands").add_subparsers(dest="local_command", required=True)
    once = local.add_parser("invoke", help="run one function once and print its answer")
    once.add_argument("function", help="logical id, function name or ARN")
    once.add_argument("--event", "-e", help="JSON event file, e.g. events/uai_poll_status_log.json")
    once.add_argument(
        "--endpoint",
        help="a running runtime's Lambda endpoint (its data), e.g. http://127.0.0.1:3001;"
        " without it the function runs against a fresh local stack",
    )
    once.add_argument("--template", default=str(TEMPLATE))
    once.set_defaults(handler=invoke)
    return root


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    raise SystemExit(args.handler(args))
