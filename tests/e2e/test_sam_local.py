"""`make sam-local` where a Docker daemon answers: every sample event through `sam local invoke`, and a
`sam local start-api` flow per face, against `pollgate run --services-only`. Without a daemon (or without the
build `make test` makes first) it says so and skips: `make test` needs no Docker."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tools.sam_local import BUILT_TEMPLATE, FACES, ROOT, CannotRun, docker_client, function_by_event

pytestmark = pytest.mark.e2e


def test_make_sam_local_passes_where_a_docker_daemon_answers() -> None:
    try:
        docker_client()
    except CannotRun as reason:
        pytest.skip(str(reason))
    if not BUILT_TEMPLATE.exists():
        pytest.skip(f"no build output at {BUILT_TEMPLATE}: run `make build-check`")

    done = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "tools" / "sam_local.py")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=ROOT,
    )

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # The functions were pointed where a container reaches the services: never loopback, the container's own.
    pointed = re.search(r"functions pointed at (\S+)", done.stdout)
    assert pointed is not None and not pointed.group(1).startswith("http://127."), done.stdout[:2000]
    summary = re.search(r"sam-local: (\d+) of (\d+) checks passed", done.stdout)
    assert summary is not None, done.stdout[-2000:]
    expected = len(function_by_event(ROOT / "template.yaml")) + len(FACES)
    assert int(summary.group(1)) == int(summary.group(2)) == expected
