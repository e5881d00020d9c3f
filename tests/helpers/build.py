"""Where `make build-check` leaves the build the tests/build modules import from, and their shared skip."""

from __future__ import annotations

import platform
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
