"""schemathesis against every face of `pollgate run`, each through the document the runtime itself serves.

Bounded and repeatable: at most MAX_EXAMPLES cases per operation, derandomized (the same cases every run),
no shrinking, each request bounded by its timeout (and no budget for the whole run: a busy machine is slower,
not wrong). Cases carry the demo's credentials (printed by `pollgate run`), chosen per operation, so most of them
get past authentication. Every response is checked: no 5xx, a documented status, a body matching the document,
and every error in the face's own shape.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from pollgate_local.client import call
from pollgate_local.process import RuntimeProcess
from pollgate_local.stack import ROOT
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.schemathesis_hooks import ERROR_SHAPES, error_shape_problem

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess() as process:  # with the demo data: its users, keys and tokens
        yield process


def curl_headers(runtime: RuntimeProcess, comment: str) -> dict[str, str]:
    """The headers of the first curl line the demo printed after the comment line starting with `comment`."""
    lines = runtime.lines
    start = lines.index(runtime.wait_for(comment))
    line = next(line for line in lines[start + 1 :] if line.startswith("curl "))
    words = shlex.split(line)
    pairs = (words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    return {name: value for name, value in pairs if name.lower() != "content-type"}


@pytest.fixture(scope="module")
def credentials(runtime: RuntimeProcess) -> dict[str, dict[str, str]]:
    """Headers by path prefix: the first prefix a case's path starts with gives its credentials."""
    admin = runtime.wait_for("secret         AdminSecret:").rsplit(": ", 1)[1]
    densify = runtime.wait_for("# with that token (valid 60 min): ").rsplit(": ", 1)[1]
    m2m = curl_headers(runtime, "# the status of the activation the demo made")
    return {
        "/flexnet/": {"Authorization": f"Bearer {admin}"},
        "/uai/": curl_headers(runtime, "# a device reports status"),
        "/subscriptions": {"Authorization": densify},
        "/api/ts/v1/oauth2/token": curl_headers(runtime, "# a bearer token"),
        # Logging out with the demo's session would end it for every later case: the bearer token only.
        "/api/m2m/v1/session/": {"Authorization": m2m["Authorization"]},
        "/api/m2m/": {**m2m, "Content-Type": "application/json"},
    }


@pytest.fixture(scope="module")
def known_path_parameters(runtime: RuntimeProcess) -> dict[str, str]:
    """IDs the demo created (from its curl lines), so that a share of the cases reaches real resources."""
    found: dict[str, str] = {"serviceName": "CarrierService"}
    patterns = {
        r"/statusLog/([0-9a-f-]{36})": ("pollingId",),
        r"/subscriptions/([0-9a-f-]{36})/status": ("subscriptionRef",),
        r"/accounts/([^/]+)/requests/([^/]+)/status": ("accountname", "requestID"),
    }
    for line in runtime.lines:
        for pattern, names in patterns.items():
            match = re.search(pattern, line) if line.startswith("curl ") else None
            if match:
                found.update(zip(names, match.groups(), strict=True))
    assert len(found) == 5, found
    return found


def face_schema(runtime: RuntimeProcess, face: str) -> Any:
    document = call(runtime.base_url, "GET", f"/openapi/{face}.json")
    assert document.status == 200, document
    schema = schemathesis.openapi.from_dict(document.body)
    schema.config.update(base_url=runtime.base_url, request_timeout=10)
    return schema


def exercise(face: str, case: Any, credentials: dict[str, dict[str, str]], answers: Counter[int]) -> None:
    headers = next((value for prefix, value in credentials.items() if case.path.startswith(prefix)), {})
    response = case.call(headers={**headers, **(case.headers or {})})
    answers[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
    problem = error_shape_problem(face, response.status_code, response.json() if response.content else None)
    assert problem is None, f"{case.method} {case.formatted_path}: {problem}"


# schemathesis' own pytest loader (from_fixture) does not run on pytest 9 (it reads request.node._nodeid), so
# each operation's cases come from its Hypothesis strategy directly: valid requests and invalid ones.
@pytest.mark.parametrize("face", ["uai", "densify", "thingspace"])
def test_face_keeps_its_contract(
    face: str, runtime: RuntimeProcess, credentials: dict[str, dict[str, str]], known_path_parameters: dict[str, str]
) -> None:
    failures = []
    answers: Counter[int] = Counter()
    operations = [result.ok() for result in face_schema(runtime, face).get_all_operations()]
    # Deletes last: a delete that finds the demo's subscription or callback must not leave the others 404s.
    for operation in sorted(operations, key=lambda operation: operation.method.lower() == "delete"):
        known = {
            parameter.name: known_path_parameters[parameter.name]
            for parameter in operation.path_parameters
            if parameter.name in known_path_parameters
        }
        # Half the cases on the demo's resources (where the path names one), a quarter each random and invalid.
        on_demo = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known)
        cases = st.one_of(
            on_demo,
            on_demo,
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def operation_keeps_its_contract(case: Any) -> None:
            exercise(face, case, credentials, answers)

        try:
            operation_keeps_its_contract()
        except (Exception, FailureGroup) as failure:  # every operation runs; all failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert not failures, "\n\n".join(failures)
    # The demo's credentials work: most cases got past authentication to the face's own checks.
    print(f"schemathesis answers ({face}):", dict(sorted(answers.items())))
    total = sum(answers.values())
    assert total and answers[401] / total < 0.5, dict(answers)


# schemathesis' coverage phase (boundary values, missing or malformed parts, undeclared content types) runs through
# its own CLI, one run per set of credentials; it found the multipart 500s that the cases above never send.
@pytest.mark.parametrize("face", list(ERROR_SHAPES))
def test_coverage_phase_finds_nothing(
    face: str, runtime: RuntimeProcess, credentials: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    document = call(runtime.base_url, "GET", f"/openapi/{face}.json").body
    paths_by_credentials: dict[str, list[str]] = {}
    for path in document["paths"]:
        prefix = next((prefix for prefix in credentials if path.startswith(prefix)), "")
        paths_by_credentials.setdefault(prefix, []).append(path)
    for prefix, paths in paths_by_credentials.items():
        command = [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{runtime.base_url}/openapi/{face}.json",
            "--url",
            runtime.base_url,
            "--phases",
            "coverage",
            "-n",
            str(MAX_EXAMPLES),
            "--generation-deterministic",
            "--request-timeout",
            "10",
            "--no-color",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance,negative_data_rejection,error_in_face_shape",
            "--include-path-regex",
            "^(" + "|".join(re.escape(path) for path in paths) + ")$",
        ]
        for name, value in credentials.get(prefix, {}).items():
            command += ["-H", f"{name}: {value}"]
        # In tmp_path: the CLI keeps its replay cache in ./.schemathesis.
        done = subprocess.run(  # noqa: S603
            command,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks", "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_api_gateways_bare_404_is_in_no_faces_shape() -> None:
    """Every API's $default route answers an unknown path or method in the face's shape: a bare 404 is a fault."""
    for face in ERROR_SHAPES:
        assert error_shape_problem(face, 404, {"message": "Not Found"}) is not None
    assert error_shape_problem("densify", 404, {"message": "No such resource: /x.", "status": 404}) is None


def test_each_face_has_swagger_ui_that_works_offline(runtime: RuntimeProcess) -> None:
    for face in ERROR_SHAPES:
        page = call(runtime.base_url, "GET", f"/docs/{face}")
        assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
        assert "SwaggerUIBundle(" in page.body and "<script src=" not in page.body  # inlined, no CDN
        assert call(runtime.base_url, "GET", f"/docs/{face}?format=json").body["info"]["title"].endswith("Api")
    assert call(runtime.base_url, "GET", "/openapi/nothing.json").status == 404


@pytest.mark.parametrize(
    ("path", "method", "content_type"),
    [
        ("/uai/2.0/updates/statusLog", "POST", "text/plain"),
        ("/flexnet/operations/api/updates/update-authorization-key", "PUT", "application/xml"),
    ],
)
def test_a_body_in_an_unsupported_content_type_is_415_in_the_uai_shape(
    runtime: RuntimeProcess, credentials: dict[str, dict[str, str]], path: str, method: str, content_type: str
) -> None:
    """Found beside schemathesis (which sends only documented media types): these answered 500."""
    headers = next(value for prefix, value in credentials.items() if path.startswith(prefix))
    answer = call(runtime.base_url, method, path, {"publicKey": "x"}, {**headers, "Content-Type": content_type})
    assert answer.status == 415
    assert set(answer.body) == {"arguments", "key", "message"}


@pytest.mark.parametrize(
    ("face", "path", "method", "content_type", "body"),
    [
        ("uai", "/flexnet/operations/api/updates/update-authorization-key", "PUT", "multipart/form-data", b"{}"),
        ("densify", "/subscriptions/cloud", "POST", "multipart/form-data", b"[]"),
    ],
)
def test_a_malformed_multipart_body_is_400_in_the_face_shape(
    runtime: RuntimeProcess,
    credentials: dict[str, dict[str, str]],
    face: str,
    path: str,
    method: str,
    content_type: str,
    body: bytes,
) -> None:
    """Found by schemathesis' coverage phase (st run): Powertools' multipart parsing answered these with a 500."""
    headers = next(value for prefix, value in credentials.items() if path.startswith(prefix))
    answer = call(runtime.base_url, method, path, raw=body, headers={**headers, "Content-Type": content_type})
    assert answer.status == 400
    assert set(answer.body) in ERROR_SHAPES[face]
