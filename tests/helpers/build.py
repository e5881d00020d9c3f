"""Where `make build-check` leaves the build the tests/build modules (and bench_cold_start) import from, the
Python 3.13 that imports it, and the tests' shared skip."""

from __future__ import annotations

import glob
import os
import platform
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCH = {"aarch64": "arm64"}.get(platform.machine(), platform.machine())
BUILD = ROOT / ".aws-sam" / f"build-{ARCH}"

# No build output, nothing to check: each tests/build module is skipped (make test builds first when it can).
NEEDS_BUILD = pytest.mark.skipif(
    not (BUILD / "template.yaml").exists(),
    reason=f"no build output at {BUILD}: run `make build-check` (make test does)",
)


def python313() -> str | None:
    """The python3.13 interpreter the build is loaded with (Lambda's runtime version), or None."""
    # pyenv's own interpreter first: its shim on PATH fails unless PYENV_VERSION selects 3.13.
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates = [*sorted(glob.glob(f"{pyenv_root}/versions/3.13*/bin/python3.13")), shutil.which("python3.13") or ""]
    return next((candidate for candidate in candidates if candidate and Path(candidate).exists()), None)
