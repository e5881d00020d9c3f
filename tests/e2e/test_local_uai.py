"""`pollgate run` in a subprocess, driven over real HTTP exactly as a device and its operator would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from pollgate_local.client import Answer, call
from pollgate_local.process import RuntimeProcess

from tests.conftest import DeviceKey
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.e2e

STATUS_LOG = "/uai/2.0/updates/statusLog"
KEYS = "/flexnet/operations/api/updates/update-authorization-key"
REPORT = {
    "id": "dev-42",
    "idType": "STRING",
    "language": 1033,
    "packageId": "pkg-1",
    "platform": "WIN64",
    "statusCode": 2,
    "timeStamp": "2026-11-22T10:00:00Z",
    "updateId": "upd-1",
    "updateName": "Security update",
}
POLL_SECONDS = 10.0


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> Answer:
        return call(self.base_url, method, path, body, headers, raw)


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess("--no-demo") as process:
        yield process


@pytest.fixture(scope="module")
def client(runtime: RuntimeProcess) -> Client:
    return Client(runtime.base_url)


@pytest.fixture(scope="module")
def admin_secret(runtime: RuntimeProcess) -> str:
    return runtime.wait_for("secret         AdminSecret:").rsplit(": ", 1)[1]


@pytest.fixture(scope="module")
def device(client: Client, admin_secret: str) -> DeviceKey:
    key = DeviceKey()
    status, _, body = client.call(
        "PUT", KEYS, {"publicKey": key.public_b64}, {"authorization": f"Bearer {admin_secret}"}
    )
    assert (status, body["key"]) == (200, "key.uploaded")
    return key


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# Runs before any test asks for `device`, while no key has been uploaded yet.
def test_a_device_is_refused_until_a_public_key_is_uploaded(client: Client) -> None:
    status, _, body = client.call("POST", STATUS_LOG, REPORT, bearer(DeviceKey().token()))
    assert (status, body["key"]) == (401, "auth.publicKeyMissing")


def test_signed_report_is_accepted_and_polled_until_logged(
    client: Client, device: DeviceKey, runtime: RuntimeProcess
) -> None:
    status, headers, body = client.call("POST", STATUS_LOG, REPORT, bearer(device.token()))
    assert status == 202
    assert headers["Location"] == body["url"]
    assert int(headers["Retry-After"]) >= 1

    def finished() -> tuple[int, Any] | None:
        status, _, outcome = client.call("GET", body["url"])
        return None if status == 202 else (status, outcome)

    status, outcome = eventually(finished, POLL_SECONDS, what="the report to be logged")
    assert status == 200
    assert outcome["key"] == "statusLog.logged"
    polling_id = body["url"].rsplit("/", 1)[1]
    assert client.call("GET", f"{STATUS_LOG}?pollingId={polling_id}")[2] == outcome
    assert runtime.wait_for(f"GET {body['url']} 200")  # one log line per request: method, path, status, ms, fn
    assert "ms UaiPollStatusLogFunction" in runtime.wait_for(f"GET {body['url']} 200")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"statusCode": 99}, "statusCode"),
        ({"statusReason": "x" * 101}, "statusReason"),
        ({"platform": ""}, "platform"),
    ],
)
def test_an_invalid_field_is_400_naming_the_field(
    client: Client, device: DeviceKey, change: dict[str, Any], problem: str
) -> None:
    status, _, body = client.call("POST", STATUS_LOG, {**REPORT, **change}, bearer(device.token()))
    assert (status, body["key"]) == (400, "request.fieldInvalid")
    assert body["arguments"].startswith(problem)


def test_a_body_that_is_not_json_is_400(client: Client, device: DeviceKey) -> None:
    status, _, body = client.call("POST", STATUS_LOG, raw=b"not json", headers=bearer(device.token()))
    assert (status, body["key"]) == (400, "request.bodyInvalid")


def test_every_cause_of_401_has_its_own_key(client: Client, device: DeviceKey) -> None:
    stranger = DeviceKey()
    unsigned = jwt.encode({"exp": int(time.time()) + 600}, "shared-secret-of-at-least-32-bytes!!", algorithm="HS256")
    causes = {
        "auth.tokenMissing": {},
        "auth.tokenMalformed": bearer("not.a.jwt"),
        "auth.tokenExpired": bearer(device.token(expires_in=-3600)),
        "auth.expMissing": bearer(jwt.encode({"sub": "d"}, device.private_pem, algorithm="RS256")),
        "auth.algorithmRejected": bearer(unsigned),
        "auth.signatureInvalid": bearer(stranger.token()),
    }
    answers = {cause: client.call("POST", STATUS_LOG, REPORT, headers) for cause, headers in causes.items()}
    assert {cause: (status, body["key"]) for cause, (status, _, body) in answers.items()} == {
        cause: (401, cause) for cause in causes
    }


def test_a_poll_with_a_bad_token_is_401(client: Client) -> None:
    status, _, body = client.call("GET", f"{STATUS_LOG}/any", headers=bearer("not.a.jwt"))
    assert (status, body["key"]) == (401, "auth.tokenMalformed")


def test_unknown_polling_id_and_unknown_route_are_404(client: Client) -> None:
    status, _, body = client.call("GET", f"{STATUS_LOG}/00000000-0000-0000-0000-000000000000")
    assert (status, body["key"]) == (404, "polling.notFound")
    # The API's $default route answers in the face's shape, as on API Gateway (a path no face claims: the first)
    status, _, body = client.call("GET", "/uai/2.0/no/such/route")
    assert (status, body["key"]) == (404, "request.notFound")
    status, _, body = client.call("PATCH", STATUS_LOG)  # a known path, another method
    assert (status, body["key"], body["arguments"]) == (404, "request.notFound", STATUS_LOG)


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong-secret"}])
def test_key_management_needs_the_admin_secret(client: Client, headers: dict[str, str]) -> None:
    for method, body in (("GET", None), ("PUT", {"publicKey": DeviceKey().public_b64})):
        status, _, answer = client.call(method, KEYS, body, headers)
        assert (status, answer["key"]) == (401, "auth.adminRequired")


def test_the_operator_lists_and_revokes_keys(client: Client, admin_secret: str, device: DeviceKey) -> None:
    spare = DeviceKey()
    admin = bearer(admin_secret)
    key_id = client.call("PUT", KEYS, {"publicKey": spare.public_b64}, admin)[2]["arguments"]
    listed = client.call("GET", KEYS, headers=admin)[2]["keys"]
    assert key_id in [key["keyId"] for key in listed]
    assert client.call("DELETE", f"{KEYS}/{key_id}", headers=admin)[::2] == (
        200,
        {"arguments": key_id, "key": "key.revokedNow", "message": f"Key {key_id} is revoked."},
    )
    status, _, body = client.call("POST", STATUS_LOG, REPORT, bearer(spare.token()))
    assert (status, body["key"]) == (401, "auth.signatureInvalid")  # a revoked key verifies nothing


def test_demo_data_prints_curl_lines_that_work() -> None:
    import shlex
    import subprocess

    with RuntimeProcess() as runtime:
        poll = runtime.wait_for("# poll the report")
        command = runtime.lines[runtime.lines.index(poll) + 1]
        assert command.startswith("curl ")
        curl = [*shlex.split(command), "--max-time", "5"]  # the curl line the runtime printed

        def finished() -> str | None:
            output = subprocess.run(curl, capture_output=True, text=True, timeout=10, check=True).stdout  # noqa: S603
            return None if " 202 " in output.splitlines()[0] else output

        output = eventually(finished, POLL_SECONDS, what="the curl line's poll to finish")
        assert output.splitlines()[0].split()[1] == "200"
        assert '"statusLog.logged"' in output
        assert runtime.terminate() == 0
        assert "pollgate: stopping" in runtime.wait_for("pollgate: stopping")


def test_a_port_in_use_is_a_one_line_error(runtime: RuntimeProcess) -> None:
    clash = RuntimeProcess(port=runtime.port)
    with pytest.raises(RuntimeError) as ended:
        clash.start()
    clash.stop()
    last = str(ended.value).splitlines()[-1]
    assert last == f"pollgate: port {runtime.port} is already in use on 127.0.0.1; choose another with --port <port>"
