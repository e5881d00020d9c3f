"""One signed POST against real HTTP receivers on loopback, failing every way a receiver can."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pollgate import clock
from pollgate.webhooks import WebhookTarget, deliver_once, new_signing_secret
from pollgate.webhooks.models import MAX_KEPT_REPLY_BYTES
from pollgate.webhooks.ssrf import AllowList
from pollgate.webhooks.transport import parse_retry_after, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

LOOPBACK = AllowList.parse("127.0.0.1")
BODY = json.dumps({"subscription": {"name": "daily"}, "count": 1, "results": [{"id": "i-1"}]}).encode()


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4  # pytest-httpserver's shared server on 127.0.0.1, cleared before each test


def url(server: HTTPServer) -> str:
    return f"http://127.0.0.1:{server.port}/hook"


def test_a_receiver_verifies_the_signature_with_standardwebhooks(receiver: HTTPServer) -> None:
    secret = new_signing_secret()
    seen: list[Any] = []

    def verify(request: Request) -> Response:
        try:
            seen.append(standardwebhooks.Webhook(secret).verify(request.get_data(), dict(request.headers)))
        except standardwebhooks.webhooks.WebhookVerificationError as error:
            return Response(str(error), status=401)
        return Response("ok", status=204)

    receiver.expect_request("/hook", method="POST").respond_with_handler(verify)
    target = WebhookTarget(url(receiver), secret, ("Authorization", "Bearer sub-token"))
    result = deliver_once(target, BODY, "msg_abc", timeout=2, allow=LOOPBACK)
    assert result.succeeded and result.status_code == 204 and result.error is None
    assert seen == [json.loads(BODY)]
    request, _ = receiver.log[0]
    assert request.headers["webhook-id"] == "msg_abc"
    assert request.headers["Authorization"] == "Bearer sub-token"
    assert request.headers["Content-Type"] == "application/json"


def test_a_wrong_secret_does_not_verify(receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("ok")
    deliver_once(WebhookTarget(url(receiver), new_signing_secret()), BODY, "msg_1", timeout=2, allow=LOOPBACK)
    request, _ = receiver.log[0]
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_signing_secret()).verify(request.get_data(), dict(request.headers))


@pytest.mark.parametrize(
    ("status", "succeeded"),
    [(200, True), (201, True), (299, True), (500, False), (503, False), (404, False), (410, False), (304, False)],
)
def test_only_2xx_succeeds(receiver: HTTPServer, status: int, succeeded: bool) -> None:
    receiver.expect_request("/hook").respond_with_data("answer", status=status)
    result = post(url(receiver), BODY, {}, timeout=2, allow=LOOPBACK)
    assert result.status_code == status and result.succeeded is succeeded


def test_a_301_is_a_failure_and_not_followed(receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("", status=301, headers={"Location": "/elsewhere"})
    receiver.expect_request("/elsewhere").respond_with_data("should never be asked")
    result = post(url(receiver), BODY, {}, timeout=2, allow=LOOPBACK)
    assert result.status_code == 301 and not result.succeeded
    assert result.error == "redirect not followed (Location: /elsewhere)"
    assert [r.path for r, _ in receiver.log] == ["/hook"]


def test_429_carries_its_retry_after(receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    result = post(url(receiver), BODY, {}, timeout=2, allow=LOOPBACK)
    assert (result.status_code, result.retry_after, result.body) == (429, 120.0, "slow down")


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = datetime.datetime(2026, 11, 18, 11, 6, 40, tzinfo=datetime.UTC)
    in_a_minute = now + datetime.timedelta(seconds=60)
    with clock.frozen(now.timestamp()):
        assert parse_retry_after(in_a_minute.strftime("%a, %d %b %Y %H:%M:%S GMT")) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_a_receiver_slower_than_the_timeout_fails_on_time(receiver: HTTPServer) -> None:
    release, replied = threading.Event(), threading.Event()

    def late(_: Request) -> Response:
        release.wait(timeout=30)  # answers only once the test lets it (bounded, should the test fail first)
        replied.set()
        return Response("late")

    receiver.expect_request("/hook").respond_with_handler(late)
    result = post(url(receiver), BODY, {}, timeout=0.3, allow=LOOPBACK)
    assert not replied.is_set()  # did not wait for the reply
    release.set()
    assert result.status_code is None and result.error == "timed out after 0.3 s"
    assert result.duration_ms >= 250


def test_a_receiver_dripping_its_reply_is_cut_at_the_deadline() -> None:
    """Per-read timeouts alone would let a byte every 0.2 s hold the attempt forever; the deadline is overall."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    dripped: list[int] = []

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            while not stop.wait(0.1) and len(dripped) < 100:
                connection.sendall(b"x")
                dripped.append(1)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    result = post(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", BODY, {}, timeout=0.5, allow=LOOPBACK)
    stop.set()
    thread.join(2)
    listener.close()
    assert len(dripped) < 100  # cut before the reply was whole
    assert result.error == "timed out after 0.5 s"


def test_a_closed_port_is_a_connection_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = post(f"http://127.0.0.1:{port}/hook", BODY, {}, timeout=1, allow=LOOPBACK)
    assert result.status_code is None and not result.refused
    assert result.error == "connection failed: Connection refused"


def test_only_the_first_20_kb_of_a_reply_is_kept(receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("é" * 200_000, status=500)
    result = post(url(receiver), BODY, {}, timeout=2, allow=LOOPBACK)
    assert result.status_code == 500
    assert len(result.body.encode()) <= MAX_KEPT_REPLY_BYTES
    assert result.body.startswith("éé") and len(result.body) >= MAX_KEPT_REPLY_BYTES // 2 - 1


# ------------------------------------------------------------------ TLS to the vetted address, verified by name


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[HTTPServer, ssl.SSLContext]]:
    """An HTTPS receiver with a certificate for hooks.pollgate.test, and a client context trusting its CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.pollgate.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.pollgate.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    client_context = ssl.create_default_context(cafile=str(cert_file))
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_context)
    server.start()
    yield server, client_context
    server.clear()
    server.stop()


def _resolve_to_loopback(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host in names else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_https_connects_to_the_vetted_address_and_verifies_the_host_name(
    tls_receiver: tuple[HTTPServer, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, client_context = tls_receiver
    _resolve_to_loopback(monkeypatch, "hooks.pollgate.test", "other.pollgate.test")
    server.expect_request("/hook").respond_with_data("ok")
    good = post(
        f"https://hooks.pollgate.test:{server.port}/hook",
        BODY,
        {},
        timeout=2,
        allow=LOOPBACK,
        tls_context=client_context,
    )
    assert good.succeeded, good.error
    assert server.log[0][0].headers["Host"] == f"hooks.pollgate.test:{server.port}"
    wrong_name = post(
        f"https://other.pollgate.test:{server.port}/hook",
        BODY,
        {},
        timeout=2,
        allow=LOOPBACK,
        tls_context=client_context,
    )
    assert wrong_name.status_code is None
    assert wrong_name.error is not None and wrong_name.error.startswith("TLS failed")
    untrusted = post(f"https://hooks.pollgate.test:{server.port}/hook", BODY, {}, timeout=2, allow=LOOPBACK)
    assert untrusted.error is not None and untrusted.error.startswith("TLS failed")
