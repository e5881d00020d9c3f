"""What a function can import on Lambda and no more: the layer's locked packages, its own code and the stdlib.

A sandbox (and the cold-start bench) runs on this machine's environment, which also holds what the tests and
the runtime need (SAM CLI, moto, pytest) and what those pull in. Some of it changes what the layer's own
packages do when merely present: with `awscrt` installed botocore imports it and signs with the CRT, and with
`pyOpenSSL` installed botocore imports `urllib3.contrib.pyopenssl`. Lambda has neither, so a cold start there
neither pays for them nor behaves as if they were there. `AbsentOnLambda` makes every top-level module of a
distribution that is neither in the layer's lock (`layers/core/requirements.txt`) nor this project raise
ModuleNotFoundError, as it would on Lambda; `absent_on_lambda()` names them.

Modules already imported before the finder is installed stay importable (Python finds them in sys.modules):
install it before anything else is imported. Whether the built functions import only what the build holds is
tests/build's to say; this is what keeps the local model from being faster or more lenient than Lambda.
"""

from __future__ import annotations

import sys

# Only sys at import: the cold-start bench installs the finder in the interpreter it then measures.
PROJECT = "pollgate"  # this repository's own distribution: the layer's code and the local runtime


def absent_on_lambda() -> frozenset[str]:
    """Top-level modules installed here that a function on Lambda could not import."""
    import re
    from importlib import metadata
    from pathlib import Path

    from packaging.utils import canonicalize_name

    lock = Path(__file__).resolve().parents[2] / "layers" / "core" / "requirements.txt"
    pinned = re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==", lock.read_text(), re.M)
    allowed = {canonicalize_name(name) for name in pinned} | {PROJECT}
    absent, present = set(), set()
    for top_level, distributions in metadata.packages_distributions().items():
        if any(canonicalize_name(d) in allowed for d in distributions):
            present.add(top_level)
        else:
            absent.add(top_level)
    return frozenset(absent - present - set(sys.stdlib_module_names))


class AbsentOnLambda:
    """A meta path finder (first on sys.meta_path) that refuses the top-level modules it is given."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if path is None and fullname in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (not in the layer: absent on Lambda)", name=fullname
            )
        return None


def hide_what_lambda_lacks() -> AbsentOnLambda:
    """Install the finder for absent_on_lambda(); answers it."""
    finder = AbsentOnLambda(absent_on_lambda())
    sys.meta_path.insert(0, finder)
    return finder
