"""`pollgate run` as the end-to-end tests drive it beside its HTTP faces: operator commands against its AWS
endpoint, as docs/densify.md and docs/thingspace.md tell an operator to run them."""

from __future__ import annotations

import os
import subprocess
import sys

from pollgate_local.process import RuntimeProcess


def runtime_table(runtime: RuntimeProcess) -> str:
    """The table `pollgate run` provisioned, as its start-up lines name it."""
    return runtime.wait_for("table          Table:").rsplit(": ", 1)[1]


def run_operator(runtime: RuntimeProcess, module: str, *args: str, stdin: str = "") -> str:
    """`python -m <module> ...` (an operator command) against the runtime's AWS endpoint and table: what it
    printed. Secrets go on stdin, as the commands insist."""
    environment = {
        **os.environ,
        "TABLE_NAME": runtime_table(runtime),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{runtime.aws_port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    environment.pop("AWS_SESSION_TOKEN", None)
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(  # noqa: S603 - this interpreter, one of pollgate's own modules
        command, input=stdin, capture_output=True, text=True, env=environment, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
