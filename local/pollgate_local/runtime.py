"""The whole local runtime in one object: moto, the template's resources, HTTP APIs, event sources, demo data."""

from __future__ import annotations

import json
import os
import platform
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pollgate_local.environment import RUNTIME_ENVIRONMENT, SANDBOX_ENVIRONMENT
from pollgate_local.functions import LocalFunction
from pollgate_local.sandboxes import Sandboxes
from pollgate_local.servers import DOCKER_BRIDGE, LOOPBACK, bridge_address, ensure_free
from pollgate_local.services import ServicesProcess
from pollgate_local.stack import ROOT, TEMPLATE, LocalStack

if TYPE_CHECKING:
    from pollgate_local.events import EventSources


class Stoppable(Protocol):
    def stop(self) -> None: ...


# What `sam local` needs exported in its shell: SAM CLI gives each container its own session's credentials and
# region (an --env-vars file cannot set them), and `testing` is the account's admin, which IAM does not check.
SAM_LOCAL_SHELL = {
    key: RUNTIME_ENVIRONMENT[key] for key in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
}
# `make build-check`'s output: the stack built for this machine's architecture (the template says arm64).
BUILT_TEMPLATE = f".aws-sam/build-{ {'aarch64': 'arm64'}.get(platform.machine(), platform.machine()) }/template.yaml"
# Where Docker Desktop's containers reach the host's loopback (it has no docker0 on the host).
DOCKER_DESKTOP_HOST = "host.docker.internal"


@dataclass
class Options:
    template: Path = TEMPLATE
    port: int = 3000
    aws_port: int = 4566
    lambda_port: int = 3001
    services_only: bool = False
    demo: bool = True
    log_level: str = "WARNING"
    iam: bool = True
    parameter_overrides: dict[str, str] = field(default_factory=dict)  # the template's, as `sam deploy` takes them
    state_dir: Path = field(default_factory=lambda: ROOT / "build" / "local")


class Runtime:
    """start() brings everything up (raising PortInUseError / TemplateError at once); stop() tears it down."""

    def __init__(self, options: Options, say: Callable[[str], None] = print) -> None:
        self.options = options
        self._say = say
        self.services: ServicesProcess | None = None
        self.workflows: ServicesProcess | None = None
        self.sandboxes: Sandboxes | None = None
        self.workflows_url = ""
        self.stack: LocalStack | None = None
        self._servers: list[Stoppable] = []
        self._sources: EventSources | None = None
        self.http_url = ""
        self.aws_url = ""
        self.lambda_url = ""
        # --services-only serves containers: on Docker's bridge when this machine has one (a container's 127.0.0.1
        # is the container itself), else loopback. The full runtime's callers are all on this machine.
        self.host = (bridge_address() or LOOPBACK) if options.services_only else LOOPBACK

    def start(self) -> None:
        started = time.perf_counter()
        options = self.options
        for port, flag, host in (
            (options.aws_port, "--aws-port", self.host),
            (options.lambda_port, "--lambda-port", self.host),
            (0 if options.services_only else options.port, "--port", LOOPBACK),
        ):
            ensure_free(port, flag, host)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(RUNTIME_ENVIRONMENT)
        try:
            self._start(options)
        except BaseException:
            self.stop()
            raise
        what = "AWS services" if options.services_only else f"HTTP APIs at {self.http_url}"
        self._say(
            f"pollgate ready in {time.perf_counter() - started:.1f}s: {what} "
            f"(AWS endpoint {self.aws_url}, Step Functions {self.workflows_url}, Lambda endpoint {self.lambda_url});"
            " Ctrl-C stops"
        )

    def _start(self, options: Options) -> None:
        # Template parameters the local runtime sets (a template without them ignores them).
        parameters = {"LogLevel": options.log_level, "WebhookAllowHosts": RUNTIME_ENVIRONMENT["WEBHOOK_ALLOW_HOSTS"]}
        stack = self.stack = LocalStack(options.template, parameters=parameters, overrides=options.parameter_overrides)
        self.lambda_url = stack.start_invoke_server(options.lambda_port, self.host)
        self._servers.append(stack)
        # moto in a process of its own, one request at a time, IAM in front (services.py); `aws --endpoint-url`
        # sees what the functions wrote.
        services = self.services = ServicesProcess(
            lambda_url=self.lambda_url, port=options.aws_port, host=self.host, iam=options.iam, echo=self._say
        )
        self._servers.append(services)
        self.aws_url = services.start()
        # Step Functions in a moto process of their own: the ASL interpreter's threads never compete with the other
        # services' requests for one interpreter lock. Its DynamoDB tasks go to the services, its Lambda tasks here.
        workflows = self.workflows = ServicesProcess(
            lambda_url=self.lambda_url, services_url=self.aws_url, iam=options.iam, echo=self._say
        )
        self._servers.append(workflows)
        self.workflows_url = workflows.start()
        services.forward_workflows(self.workflows_url)  # one endpoint for outside clients (`aws`, `sam local`)
        endpoints = {"AWS_ENDPOINT_URL": self.aws_url, "AWS_ENDPOINT_URL_SFN": self.workflows_url}
        os.environ.update(endpoints)
        stack.executions_source = workflows.executions
        provisioned = stack.provision()
        os.environ.update(RUNTIME_ENVIRONMENT)  # the runtime's own values win over the template's
        os.environ.update(endpoints)  # the template declares AWS_ENDPOINT_URL empty: real AWS
        policies = stack.policies()
        roles, state_machines = policies.to_json(), stack.state_machine_principals()
        for process in (services, workflows):
            process.install_policies(roles, state_machines)
        # Every function in a sandbox of its own (sandboxes.py), signing as its own role.
        sandboxes = self.sandboxes = Sandboxes(
            endpoints={
                **endpoints,
                "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url,
                **{key: RUNTIME_ENVIRONMENT[key] for key in SANDBOX_ENVIRONMENT},
            },
            credentials_of=lambda logical_id: policies.principal(logical_id).environment(),
            say=self._say,
        )
        self._servers.append(sandboxes)
        for logical_id, function in list(stack.functions.items()):
            assert isinstance(function, LocalFunction)
            stack.functions[logical_id] = sandboxes.function(function)
        if options.services_only:
            self._describe(stack)
            self._services_only(provisioned.environment)
            return
        from pollgate_local.api import LocalHttpApi
        from pollgate_local.events import EventSources

        http = LocalHttpApi(stack, options.port, log_line=self._say)
        self.http_url = http.start()
        self._servers.append(http)
        self._describe(stack)
        # Long polls as Lambda's event source mappings make them: the services answer at once when a message comes.
        self._sources = EventSources(stack, self._say, long_poll_seconds=20)
        self._sources.start()
        if options.demo:
            self._seed()

    def _describe(self, stack: LocalStack) -> None:
        local = stack.provisioned
        say = self._say
        iam = "IAM enforced" if self.options.iam else "IAM off (--no-iam)"
        say(f"pollgate local runtime: {self.options.template.name} on moto, {iam}, a sandbox per function (no Docker)")
        for logical_id, name in local.tables.items():
            say(f"  table          {logical_id}: {name}")
        for logical_id, bucket in local.buckets.items():
            say(f"  bucket         {logical_id}: {bucket}")
        for logical_id, url in local.queues.items():
            say(f"  queue          {logical_id}: {url}")
        for logical_id, arn in local.state_machines.items():
            say(f"  state machine  {logical_id}: {arn}")
        for logical_id, value in local.secret_values.items():
            say(f"  secret         {logical_id}: {value}")
        if not self.options.services_only:
            for api_id, method, path, function in stack.http_routes():
                say(f"  route          {method:<6} {path}  ({api_id} -> {function})")
            for schedule in stack.schedules():
                say(f"  schedule       {schedule.expression} -> {schedule.function}")
            for source in stack.sqs_sources():
                say(
                    f"  sqs            {source.queue_url.rsplit('/', 1)[-1]} -> {source.function} "
                    f"(batch {source.batch_size}, concurrency {source.maximum_concurrency})"
                )

    def _services_only(self, environment: dict[str, dict[str, str]]) -> None:
        """For `sam local invoke|start-api` on a machine with Docker: the env file for its containers, the commands."""
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        env_file = self.options.state_dir / "sam-env.json"
        shown = env_file.relative_to(ROOT) if env_file.is_relative_to(ROOT) else env_file
        if self.host != LOOPBACK:
            for_containers, how = self.aws_url, f"Docker's bridge ({DOCKER_BRIDGE}), where these services listen"
        else:
            port = urllib.parse.urlsplit(self.aws_url).port
            for_containers = f"http://{DOCKER_DESKTOP_HOST}:{port}"
            how = f"no {DOCKER_BRIDGE} here: Docker Desktop's name for this machine's loopback"
        # SAM CLI applies an --env-vars value only to a variable the template declares (AWS_ENDPOINT_URL is, empty,
        # in Globals), so the file holds the template's own variables and nothing else. No function calls Lambda;
        # state machines' Lambda tasks run here, in the runtime's sandboxes.
        env_file.write_text(
            json.dumps(
                {fn: {**variables, "AWS_ENDPOINT_URL": for_containers} for fn, variables in environment.items()},
                indent=2,
            )
            + "\n"
        )
        say = self._say
        say(f"sam local: {shown} points every function's AWS_ENDPOINT_URL at {for_containers} ({how}).")
        say(
            "In another shell export these (SAM CLI hands each container its own credentials and region; `testing` "
            "is the account's admin, which the runtime's IAM does not check):"
        )
        for key, value in {"AWS_ENDPOINT_URL": self.aws_url, **SAM_LOCAL_SHELL}.items():
            say(f"export {key}={value}")
        say("then, after `make build-check` (the stack built for this machine's architecture), run one of:")
        say(f"sam local start-api --template {BUILT_TEMPLATE} --env-vars {shown}")
        say(
            f"sam local invoke <Function> --event events/<its folder>.json --template {BUILT_TEMPLATE} "
            f"--env-vars {shown}"
        )
        say("(add --skip-pull-image where the Lambda Python 3.13 image cannot be pulled but is built here)")

    def _seed(self) -> None:
        from pollgate_local.demo import DemoContext, run_seeds

        assert self.stack is not None
        context = DemoContext(base_url=self.http_url, stack=self.stack, state_dir=self.options.state_dir)
        for face, lines in run_seeds(context, self._say).items():
            self._say(f"# ---- {face}")
            for line in lines:
                self._say(line)

    def stop(self) -> None:
        if self._sources is not None:
            self._sources.stop(wake=self.services.wake if self.services else None)
            self._sources = None
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        self.services = self.workflows = None
