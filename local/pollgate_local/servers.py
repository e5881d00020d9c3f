"""Threaded werkzeug servers (loopback unless told otherwise), started and stopped from any thread (no signal
handlers), and where Docker's containers reach this machine (`bridge_address`)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import logging
import socket
import struct
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

LOOPBACK = "127.0.0.1"
DOCKER_BRIDGE = "docker0"
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address

# werkzeug logs every request on its own; the runtime writes its own one line per request instead.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


class PortInUseError(RuntimeError):
    """A port the runtime was told to use is taken; the message names the port and the flag that changes it."""

    def __init__(self, port: int, flag: str, host: str = LOOPBACK) -> None:
        super().__init__(f"port {port} is already in use on {host}; choose another with {flag} <port>")
        self.port = port
        self.flag = flag


def bridge_address(interface: str = DOCKER_BRIDGE) -> str | None:
    """The IPv4 address of Docker's bridge on this machine (docker0's, the containers' gateway): where a container
    on the default bridge reaches a server of this machine. None where there is none (no Docker, Docker Desktop,
    not Linux)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def ensure_free(port: int, flag: str, host: str = LOOPBACK) -> None:
    """Fail at once, before provisioning, if a port is taken: bind it once, as the server will."""
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server binds it
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(port, flag, host) from None
            raise


class BackgroundServer:
    """A WSGI app served by werkzeug's threaded server on a daemon thread, on `host` (loopback by default)."""

    def __init__(
        self,
        app: Any,
        port: int = 0,
        *,
        flag: str = "--port",
        name: str = "server",
        request_handler: type[WSGIRequestHandler] | None = None,
        host: str = LOOPBACK,
    ) -> None:
        self._app = app
        self._host = host
        self._request_handler = request_handler
        self._requested_port = port
        self._flag = flag
        self._name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self._name} is not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # werkzeug prints its own two lines before exiting
                self._server = make_server(
                    self._host, self._requested_port, self._app, threaded=True, request_handler=self._request_handler
                )
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(self._requested_port, self._flag, self._host) from None
            raise
        except SystemExit:  # werkzeug exits instead of raising when the port is taken on some versions
            raise PortInUseError(self._requested_port, self._flag, self._host) from None
        self._server.daemon_threads = True  # type: ignore[attr-defined]  # threaded=True: a ThreadingMixIn
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name=self._name, daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
