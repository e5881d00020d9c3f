"""`make sam-local`: the built stack under AWS SAM CLI's own emulator (Docker), against pollgate's local services.

    python tools/sam_local.py [--template .aws-sam/build-<arch>/template.yaml] [--jobs 3]

Starts `pollgate run --services-only` (moto and the Lambda endpoint, on Docker's bridge where containers reach
them) and uses the `--env-vars` file it writes (every function's AWS_ENDPOINT_URL pointing there), then
  1. runs `sam local invoke` with every file of events/ (each against the function whose CodeUri folder has
     its name): a function passes when it answered from pollgate's services, i.e. an HTTP answer below 500 or
     a result; the workers' sample events name operations that do not exist, so their LookupError passes;
  2. runs `sam local start-api` and drives one real flow per face: Densify login, ThingSpace OAuth token,
     UAI key upload, status-log submit and poll until the workflow (run by moto) logged it.
Prints one line per check and exits 1 if any failed, 2 if it cannot run (no Docker daemon, no build output).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pollgate_local.process import RuntimeProcess, free_port
from pollgate_local.runtime import SAM_LOCAL_SHELL
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
ARCH = {"aarch64": "arm64"}.get(platform.machine(), platform.machine())
BUILT_TEMPLATE = ROOT / ".aws-sam" / f"build-{ARCH}" / "template.yaml"  # `make build-check`: this machine's arch
SAM = Path(sys.executable).with_name("sam")
INVOKE_TIMEOUT = 300  # seconds; the longest function timeout is 300 s (the Densify scheduler)
# The SDK's answers when a function could not reach its AWS endpoint, and Lambda's for a function that ran out of time.
UNREACHABLE = (
    "EndpointConnectionError",
    "Could not connect to the endpoint URL",
    "ConnectTimeoutError",
    "Task timed out",
    "Sandbox.Timedout",
)
# What the workers raise for an operation that is not in the table, as the sample events' are not.
EXPECTED_ERRORS = {"LookupError"}
# What `pollgate run --services-only` says to export: SAM CLI hands these to every container.
SERVICES_CREDENTIALS = {**SAM_LOCAL_SHELL, "SAM_CLI_TELEMETRY": "0"}


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    seconds: float

    def line(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'} {self.name}: {self.detail} ({self.seconds:.1f} s)"


class CannotRun(Exception):
    """Nothing to check here (no Docker daemon, no build): exit 2 with the reason."""


# ---------------------------------------------------------------- Docker
def docker_client() -> Any:
    import docker  # SAM CLI's own Docker client library

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # docker raises several unrelated types for "no daemon"
        raise CannotRun(
            f"no Docker daemon answers (DOCKER_HOST={os.environ.get('DOCKER_HOST', 'default')}): {type(error).__name__}"
        ) from error
    return client


# ---------------------------------------------------------------- the stack
def function_by_event(template: Path) -> dict[Path, str]:
    """events/<name>.json -> the function whose CodeUri is functions/<name>/."""
    resources = yaml_parse(template.read_text())["Resources"]
    by_folder = {
        Path(str(resource["Properties"]["CodeUri"])).name: name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    return {
        event: by_folder[event.stem] for event in sorted((ROOT / "events").glob("*.json")) if event.stem in by_folder
    }


def sam_flags(client: Any) -> list[str]:
    """--skip-pull-image when the Lambda base image is already here (offline machines build it themselves)."""
    image = f"public.ecr.aws/lambda/python:3.13-{ARCH}"
    try:
        client.images.get(image)
    except Exception:  # not here: let SAM CLI pull it
        return []
    return ["--skip-pull-image"]


def services_of(runtime: RuntimeProcess) -> tuple[str, Path]:
    """From the runtime's console: its AWS endpoint (this machine reaches it there too) and a copy of the env file
    it wrote, this run's own (another `pollgate run --services-only` rewrites the file where it wrote it)."""
    endpoint = runtime.wait_for("export AWS_ENDPOINT_URL=").split("=", 1)[1]
    written = Path(runtime.wait_for("sam local start-api ").split("--env-vars ", 1)[1])
    written = written if written.is_absolute() else ROOT / written
    own = written.with_name(f"sam-env-sam-local-{os.getpid()}.json")
    own.write_text(written.read_text())
    return endpoint, own


# ---------------------------------------------------------------- 1. every sample event, through sam local invoke
def judge(output: str) -> tuple[bool, str]:
    """Did the function answer from the services? (its result is the last line SAM CLI prints on stdout)"""
    if any(marker in output for marker in UNREACHABLE):
        return False, "could not reach the services: " + next(m for m in UNREACHABLE if m in output)
    try:
        result = json.loads(output.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return False, "no result: " + output.strip()[-300:]
    if isinstance(result, dict) and "statusCode" in result:
        body = str(result.get("body") or "")
        return int(result["statusCode"]) < 500, f"{result['statusCode']} {body[:90]}"
    if isinstance(result, dict) and "errorType" in result:
        return result["errorType"] in EXPECTED_ERRORS, f"raised {result['errorType']}: {result.get('errorMessage')}"
    return True, json.dumps(result)[:120]


def invoke(function: str, event: Path, template: Path, env_file: Path, flags: list[str]) -> Check:
    """One `sam local invoke`; tried once more when SAM CLI printed no result at all (on a busy machine its
    emulator now and then ends a cold container without one), and the line says so."""
    started = time.monotonic()
    name = f"invoke {function} {event.relative_to(ROOT)}"
    command = [str(SAM), "local", "invoke", function, "--template", str(template), "--event", str(event)]
    command += ["--env-vars", str(env_file), *flags]
    first_try = ""
    for _attempt in range(2):
        try:
            done = subprocess.run(  # noqa: S603 - the venv's own SAM CLI
                command,
                capture_output=True,
                text=True,
                timeout=INVOKE_TIMEOUT,
                check=False,
                cwd=ROOT,
                env={**os.environ, **SERVICES_CREDENTIALS},
            )
        except subprocess.TimeoutExpired:
            return Check(name, False, f"sam local invoke still running after {INVOKE_TIMEOUT} s", INVOKE_TIMEOUT)
        if done.stdout.strip() or first_try:
            break
        first_try = "SAM CLI printed no result: " + " | ".join(done.stderr.strip().splitlines()[-3:])[-300:]
    passed, detail = judge(done.stdout + ("\n" + done.stderr if done.returncode else ""))
    if passed and done.returncode != 0:
        passed, detail = False, f"sam local invoke exited {done.returncode}: {done.stderr.strip()[-300:]}"
    if first_try:
        detail += f" (second try; the first: {first_try})"
    return Check(name, passed, detail, time.monotonic() - started)


# ---------------------------------------------------------------- 2. sam local start-api, one flow per face
@contextlib.contextmanager
def start_api(template: Path, env_file: Path, flags: list[str], ready_timeout: float = 180) -> Iterator[str]:
    port = free_port()
    log = env_file.with_name("sam-local-start-api.log")
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - the venv's own SAM CLI, in its own process group
            [
                str(SAM),
                "local",
                "start-api",
                "--template",
                str(template),
                "--env-vars",
                str(env_file),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--warm-containers",
                "LAZY",
                *flags,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
            env={**os.environ, **SERVICES_CREDENTIALS},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise CannotRun(f"sam local start-api ended ({process.returncode}); see {log}")
            try:
                requests.get(url, timeout=5)
                break
            except requests.ConnectionError:  # not listening yet
                pass
            except requests.Timeout:  # listening: "/" reached a function whose first container is still starting
                break
            if time.monotonic() > deadline:
                raise CannotRun(f"sam local start-api did not answer within {ready_timeout} s; see {log}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def operator(face: str, table: str, aws_endpoint: str, *args: str, stdin: str = "") -> str:
    """`python -m pollgate.<face>.operator ...` against the services, as an operator seeds a stack; its output."""
    done = subprocess.run(  # noqa: S603 - our own module, this interpreter
        [sys.executable, "-m", f"pollgate.{face}.operator", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **SERVICES_CREDENTIALS, "AWS_ENDPOINT_URL": aws_endpoint, "TABLE_NAME": table},
    )
    return done.stdout.strip()


def densify_flow(api: str, table: str, aws_endpoint: str, variables: dict[str, Any]) -> str:
    password = base64.b64encode(os.urandom(18)).decode()
    operator(
        "densify", table, aws_endpoint, "add-user", "--user", "sam-local", "--password-stdin", stdin=password + "\n"
    )
    answer = requests.post(f"{api}/authorize", json={"userName": "sam-local", "pwd": password}, timeout=120)
    assert answer.status_code == 200 and answer.json().get("apiToken"), (answer.status_code, answer.text[:300])
    return "POST /authorize 200 with an apiToken"


def thingspace_flow(api: str, table: str, aws_endpoint: str, variables: dict[str, Any]) -> str:
    added = operator("thingspace", table, aws_endpoint, "add-client", "--key", "sam-local")
    client = json.loads(added.splitlines()[-1])
    basic = base64.b64encode(f"sam-local:{client['clientSecret']}".encode()).decode()
    answer = requests.post(
        f"{api}/api/ts/v1/oauth2/token",
        data="grant_type=client_credentials",
        timeout=120,
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200 and answer.json().get("access_token"), (answer.status_code, answer.text[:300])
    return "POST /api/ts/v1/oauth2/token 200 with an access_token"


def uai_flow(api: str, table: str, aws_endpoint: str, variables: dict[str, Any]) -> str:
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id=SERVICES_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=SERVICES_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    admin = secrets.get_secret_value(SecretId=variables["UaiUploadKeyFunction"]["ADMIN_SECRET_ARN"])["SecretString"]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_path = f"{api}/flexnet/operations/api/updates/update-authorization-key"
    uploaded = requests.put(
        key_path,
        json={"publicKey": base64.b64encode(public).decode()},
        timeout=120,
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert uploaded.status_code == 200, (uploaded.status_code, uploaded.text[:300])
    token = jwt.encode({"sub": "sam-local", "exp": int(time.time()) + 600}, private, algorithm="RS256")
    report = {
        "language": 1033,
        "packageId": "pkg",
        "platform": "WIN64",
        "statusCode": 2,
        "timeStamp": "2026-01-01T12:00:00Z",
        "updateId": f"u-{uuid.uuid4()}",
        "updateName": "sam local",
    }
    submitted = requests.post(
        f"{api}/uai/2.0/updates/statusLog", json=report, timeout=120, headers={"Authorization": f"Bearer {token}"}
    )
    assert submitted.status_code == 202, (submitted.status_code, submitted.text[:300])
    poll_url = api + submitted.json()["url"]
    deadline = time.monotonic() + 120
    while (polled := requests.get(poll_url, timeout=120)).status_code == 202 and time.monotonic() < deadline:
        time.sleep(1)
    assert polled.status_code == 200 and polled.json()["key"] == "statusLog.logged", (
        polled.status_code,
        polled.text[:300],
    )
    return "PUT key 200, POST statusLog 202, poll 200 statusLog.logged (the workflow ran in moto)"


FACES: dict[str, Callable[[str, str, str, dict[str, Any]], str]] = {
    "Densify": densify_flow,
    "ThingSpace": thingspace_flow,
    "UAI": uai_flow,
}


def api_checks(api: str, table: str, aws_endpoint: str, variables: dict[str, Any]) -> list[Check]:
    checks = []
    for face, flow in FACES.items():
        started = time.monotonic()
        try:
            checks.append(
                Check(f"start-api {face}", True, flow(api, table, aws_endpoint, variables), time.monotonic() - started)
            )
        except (AssertionError, requests.RequestException, subprocess.SubprocessError, KeyError) as error:
            checks.append(
                Check(f"start-api {face}", False, f"{type(error).__name__}: {error}", time.monotonic() - started)
            )
    return checks


# ---------------------------------------------------------------- main
def run(template: Path, jobs: int, say: Callable[[str], None]) -> list[Check]:
    if not template.exists():
        raise CannotRun(f"no build output at {template}: run `make build-check`")
    flags = sam_flags(docker_client())
    with RuntimeProcess("--services-only", "--no-demo") as runtime:
        aws_endpoint, env_file = services_of(runtime)
        try:
            return checks_against(aws_endpoint, env_file, template, flags, jobs, say)
        finally:
            env_file.unlink(missing_ok=True)


def checks_against(
    aws_endpoint: str, env_file: Path, template: Path, flags: list[str], jobs: int, say: Callable[[str], None]
) -> list[Check]:
    """1. and 2. of the module's docstring, with the functions pointed at the services by `env_file`."""
    variables = json.loads(env_file.read_text())
    table = variables["UaiSubmitStatusLogFunction"]["TABLE_NAME"]
    for_containers = variables["UaiSubmitStatusLogFunction"]["AWS_ENDPOINT_URL"]
    say(f"sam-local: services at {aws_endpoint}, functions pointed at {for_containers} by {env_file}")
    events = function_by_event(ROOT / "template.yaml")
    checks: list[Check] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for check in pool.map(lambda item: invoke(item[1], item[0], template, env_file, flags), events.items()):
            say(check.line())
            checks.append(check)
    with start_api(template, env_file, flags) as api:
        for check in api_checks(api, table, aws_endpoint, variables):
            say(check.line())
            checks.append(check)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=BUILT_TEMPLATE)
    parser.add_argument("--jobs", type=int, default=3, help="sam local invoke runs at once")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        checks = run(args.template, args.jobs, lambda line: print(line, flush=True))
    except CannotRun as reason:
        print(f"sam-local: cannot run: {reason}", flush=True)
        return 2
    failed = [check for check in checks if not check.passed]
    print(
        f"sam-local: {len(checks) - len(failed)} of {len(checks)} checks passed in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
