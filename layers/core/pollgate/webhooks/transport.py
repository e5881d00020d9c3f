"""One webhook POST: vet the URL, connect to the vetted address, send, keep the first 20 KB of the reply.

Standard library only (http.client, ssl, socket): the connection must go to the address the SSRF guard
vetted, with TLS verified against the host name, which is a small override of `connect()` here.
Redirects are never followed: http.client does not follow them, and a 3xx is reported as a failure.
"""

from __future__ import annotations

import email.utils
import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from pollgate import clock
from pollgate.webhooks.models import MAX_KEPT_REPLY_BYTES
from pollgate.webhooks.ssrf import AllowList, HostUnresolved, UrlRefused, VettedUrl, vet_url

USER_AGENT = "pollgate-webhooks/1.0"


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None when no HTTP answer came (refused URL, connection or TLS error, timeout)
    error: str | None  # what went wrong, in words; None for any HTTP answer other than a redirect
    duration_ms: int
    body: str  # the first MAX_KEPT_REPLY_BYTES of the reply, decoded leniently
    retry_after: float | None = None  # seconds the receiver asked us to wait (Retry-After), unbounded here
    refused: bool = False  # the SSRF guard refused the URL: retrying cannot help

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a vetted address; the Host header still names the host."""

    def __init__(self, vetted: VettedUrl, address: str, timeout: float) -> None:
        super().__init__(vetted.host, vetted.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a vetted address, with SNI and certificate verification against the host name."""

    def __init__(self, vetted: VettedUrl, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(vetted.host, vetted.port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


@cache
def _tls_context() -> ssl.SSLContext:
    # Built once per process: loading the CA bundle costs milliseconds on every cold start otherwise.
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow: AllowList,
    tls_context: ssl.SSLContext | None = None,
) -> PostResult:
    """POST once. Never raises for anything the receiver or the network does; returns what happened."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        vetted = vet_url(url, allow)
    except HostUnresolved as unresolved:  # perhaps a passing DNS fault: retried on the schedule, not final
        return PostResult(None, f"DNS lookup failed: {unresolved}", elapsed_ms(), "")
    except UrlRefused as refusal:
        return PostResult(None, f"refused: {refusal}", elapsed_ms(), "", refused=True)
    deadline = started + timeout
    last_error = "no address to connect to"
    for address in vetted.addresses:  # each was vetted; a second lookup never happens
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            last_error = f"timed out after {timeout:g} s"
            break
        connection: http.client.HTTPConnection = (
            _PinnedHTTPSConnection(vetted, address, remaining, tls_context or _tls_context())
            if vetted.scheme == "https"
            else _PinnedHTTPConnection(vetted, address, remaining)
        )
        try:
            try:
                connection.connect()
            except (ConnectionError, OSError) as error:
                if isinstance(error, ssl.SSLError | TimeoutError):
                    raise
                last_error = f"connection failed: {_describe(error)}"
                continue  # the next vetted address may answer
            return _exchange(connection, vetted, body, headers, deadline, elapsed_ms)
        except TimeoutError:
            return PostResult(None, f"timed out after {timeout:g} s", elapsed_ms(), "")
        except ssl.SSLError as error:
            return PostResult(None, f"TLS failed: {_describe(error)}", elapsed_ms(), "")
        except (http.client.HTTPException, OSError) as error:
            return PostResult(None, f"connection failed: {_describe(error)}", elapsed_ms(), "")
        finally:
            connection.close()
    return PostResult(None, last_error, elapsed_ms(), "")


def _exchange(
    connection: http.client.HTTPConnection,
    vetted: VettedUrl,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    elapsed_ms: Callable[[], int],
) -> PostResult:
    connection.putrequest("POST", vetted.target, skip_accept_encoding=True)
    for name, value in {
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "close",
        **headers,
    }.items():
        connection.putheader(name, value)
    connection.endheaders(body)
    _shrink_timeout(connection, deadline)
    response = connection.getresponse()
    kept = _read_kept(response, connection, deadline)
    status = response.status
    error = None
    if 300 <= status < 400:
        where = response.getheader("Location", "")
        error = "redirect not followed" + (f" (Location: {where[:200]})" if where else "")
    return PostResult(
        status,
        error,
        elapsed_ms(),
        kept.decode("utf-8", errors="replace"),
        retry_after=parse_retry_after(response.getheader("Retry-After")),
    )


def _read_kept(response: http.client.HTTPResponse, connection: http.client.HTTPConnection, deadline: float) -> bytes:
    """Read at most MAX_KEPT_REPLY_BYTES; the rest is never read (the connection is closed), so a huge or
    endless reply costs neither memory nor time."""
    chunks: list[bytes] = []
    kept = 0
    while kept < MAX_KEPT_REPLY_BYTES:
        _shrink_timeout(connection, deadline)
        chunk = response.read1(MAX_KEPT_REPLY_BYTES - kept)
        if not chunk:
            break
        chunks.append(chunk)
        kept += len(chunk)
    return b"".join(chunks)


def _shrink_timeout(connection: http.client.HTTPConnection, deadline: float) -> None:
    """The whole exchange shares one deadline, so a receiver dripping bytes cannot hold us past it."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - clock.epoch())


def _describe(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return str(text)[:200]
