"""The SSRF guard: hostile webhook URLs are refused before any connection is made (allow-list off)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pollgate.webhooks import transport
from pollgate.webhooks.ssrf import (
    NO_ALLOW_LIST,
    AllowList,
    HostUnresolved,
    UrlRefused,
    check_url_form,
    forbidden_reason,
    vet_url,
)
from pytest_httpserver import HTTPServer

PUBLIC = "93.184.215.14"
_real_getaddrinfo = socket.getaddrinfo


def _answers(*addresses: str) -> list[tuple[Any, ...]]:
    return [
        (
            socket.AF_INET6 if ":" in a else socket.AF_INET,
            socket.SOCK_STREAM,
            6,
            "",
            (a, 443, 0, 0) if ":" in a else (a, 443),
        )
        for a in addresses
    ]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Made-up names resolve as the test says; IP spellings and localhost go to the real resolver (no network)."""
    zone: dict[str, list[str]] = {}

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host in zone:
            return _answers(*zone[host])
        if host.endswith(".example.com"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    zone.update(
        {
            "hooks.example.com": [PUBLIC],
            "internal.example.com": ["10.1.2.3"],
            "metadata.example.com": ["169.254.169.254"],
            "mixed.example.com": [PUBLIC, "192.168.1.10"],  # one bad answer spoils the name
            "mapped.example.com": ["::ffff:10.0.0.1"],
            "v6-loopback.example.com": ["::1"],
            "nat64.example.com": ["64:ff9b::a9fe:a9fe"],  # NAT64 of 169.254.169.254
            "sixtofour.example.com": ["2002:7f00:1::1"],  # 6to4 of 127.0.0.1
            "ula.example.com": ["fd00::1"],
        }
    )
    return zone


HOSTILE = [
    "http://127.0.0.1/hook",
    "http://127.9.9.9:8080/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://017700000001/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://0xa9fea9fe/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[::ffff:a9fe:a9fe]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[::]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:a9fe:a9fe::1]/hook",
    "http://[::ffff:0:7f00:1]/hook",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
    "http://[3fff::1]/hook",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.0.1/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://198.18.0.1/hook",
    "http://internal.example.com/hook",
    "http://metadata.example.com/latest/meta-data/",
    "http://mixed.example.com/hook",
    "http://mapped.example.com/hook",
    "http://v6-loopback.example.com/hook",
    "http://nat64.example.com/hook",
    "http://sixtofour.example.com/hook",
    "http://ula.example.com/hook",
    "http://does-not-resolve.example.com/hook",
    "file:///etc/passwd",
    "ftp://hooks.example.com/hook",
    "gopher://hooks.example.com:70/_hook",
    "https://user:pass@hooks.example.com/hook",
    "https://hooks.example.com@127.0.0.1/hook",
    "http://hooks.example.com:0/hook",
    "http://hooks.example.com:99999/hook",
    "http://hooks.example.com/ho ok",
    "http:///hook",
    "//hooks.example.com/hook",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_refused_with_the_allow_list_off(dns: dict[str, list[str]], url: str) -> None:
    with pytest.raises(UrlRefused):
        vet_url(url, NO_ALLOW_LIST)


@pytest.mark.parametrize("url", [u for u in HOSTILE if "does-not-resolve" not in u])
def test_a_refused_url_is_never_connected_to(
    dns: dict[str, list[str]], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connection(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError("connected to a refused URL")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    result = transport.post(url, b"{}", {}, timeout=1, allow=NO_ALLOW_LIST)
    assert result.refused and result.status_code is None
    assert result.error is not None and result.error.startswith("refused: ")


def test_public_names_and_addresses_pass(dns: dict[str, list[str]]) -> None:
    vetted = vet_url("https://hooks.example.com/path?q=1", NO_ALLOW_LIST)
    assert (vetted.scheme, vetted.host, vetted.port, vetted.target) == ("https", "hooks.example.com", 443, "/path?q=1")
    assert vetted.addresses == (PUBLIC,)
    assert vet_url(f"http://{PUBLIC}:8080", NO_ALLOW_LIST).target == "/"
    assert vet_url("http://[2606:4700::1111]/x", NO_ALLOW_LIST).addresses == ("2606:4700::1111",)


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "2002:0808:0808::1", "64:ff9b::808:808"])
def test_ipv6_forms_of_a_public_ipv4_address_pass(address: str) -> None:
    import ipaddress

    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_the_allow_list_admits_only_what_it_names(dns: dict[str, list[str]]) -> None:
    loopback = AllowList.parse("127.0.0.1")
    assert vet_url("http://127.0.0.1:9000/hook", loopback).addresses == ("127.0.0.1",)
    with pytest.raises(UrlRefused):
        vet_url("http://127.0.0.2/hook", loopback)
    with pytest.raises(UrlRefused):
        vet_url("http://169.254.169.254/", loopback)
    with pytest.raises(UrlRefused, match="ambiguous"):
        vet_url("http://0x7f000001/hook", loopback)  # spelling rules hold whatever the allow-list says
    with pytest.raises(UrlRefused):
        vet_url("file:///etc/passwd", AllowList.parse("127.0.0.1, localhost, 0.0.0.0/0"))
    by_name_and_cidr = AllowList.parse(" internal.example.com , 192.168.0.0/16 ")
    assert vet_url("http://internal.example.com/", by_name_and_cidr).addresses == ("10.1.2.3",)
    assert vet_url("http://mixed.example.com/", by_name_and_cidr).addresses == (PUBLIC, "192.168.1.10")


def test_the_connection_goes_to_the_vetted_address_without_a_second_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a name that answers public first and loopback after must never reach loopback."""
    lookups: list[str] = []
    connected: list[tuple[str, int]] = []

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        lookups.append(host)
        return _answers(PUBLIC if len(lookups) == 1 else "127.0.0.1")

    def fake_connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", fake_connect)
    result = transport.post("http://rebind.example.com/hook", b"{}", {}, timeout=1, allow=NO_ALLOW_LIST)
    assert lookups == ["rebind.example.com"]
    assert connected == [(PUBLIC, 80)]
    assert result.status_code is None and result.error == "connection failed: Connection refused"


@pytest.fixture(scope="module")
def _servers() -> Iterator[tuple[HTTPServer, HTTPServer]]:
    first, second = HTTPServer(host="127.0.0.1", port=0), HTTPServer(host="127.0.0.1", port=0)
    first.start()
    second.start()
    yield first, second
    for server in (first, second):
        server.stop()


@pytest.fixture
def loopback_servers(_servers: tuple[HTTPServer, HTTPServer]) -> Iterator[tuple[HTTPServer, HTTPServer]]:
    yield _servers
    for server in _servers:
        server.clear()


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "SECOND"])
def test_redirects_are_never_followed(loopback_servers: tuple[HTTPServer, HTTPServer], location: str) -> None:
    first, second = loopback_servers
    target = second.url_for("/internal") if location == "SECOND" else location
    first.expect_request("/hook", method="POST").respond_with_data("", status=302, headers={"Location": target})
    result = transport.post(
        f"http://127.0.0.1:{first.port}/hook", b"{}", {}, timeout=2, allow=AllowList.parse("127.0.0.1")
    )
    assert result.status_code == 302 and not result.succeeded
    assert result.error is not None and result.error.startswith("redirect not followed")
    assert second.log == []


def test_a_name_that_does_not_resolve_is_not_final(dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """NXDOMAIN may be a passing DNS fault: the attempt fails, not refused, so the schedule retries it."""
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("connected"))
    with pytest.raises(HostUnresolved):
        vet_url("http://does-not-resolve.example.com/hook", NO_ALLOW_LIST)
    result = transport.post("http://does-not-resolve.example.com/hook", b"{}", {}, timeout=1, allow=NO_ALLOW_LIST)
    assert not result.refused and result.status_code is None
    assert result.error == "DNS lookup failed: does-not-resolve.example.com does not resolve"


# What registration refuses by form alone: no name is resolved then (a name's addresses are vetted at delivery).
REFUSED_BY_FORM = [
    u
    for u in HOSTILE
    if ".example.com/" not in u or "@" in u or ":0/" in u or ":99999/" in u or " " in u or not u.startswith("http")
]


@pytest.mark.parametrize("url", REFUSED_BY_FORM)
def test_registration_refuses_urls_by_their_form(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("resolved at registration"))
    with pytest.raises(UrlRefused):
        check_url_form(url, NO_ALLOW_LIST)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/hook",
        "http://internal.example.com:8080/x?y=1",
        f"http://{PUBLIC}/hook",
        "http://[2606:4700::1111]/x",
    ],
)
def test_registration_takes_names_and_public_literals_unresolved(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("resolved at registration"))
    assert check_url_form(url, NO_ALLOW_LIST) == url


def test_registration_honours_the_allow_list_as_delivery_does() -> None:
    local = AllowList.parse("127.0.0.1/8,::1")
    assert check_url_form("http://127.0.0.1:8080/hook", local)
    assert check_url_form("http://localhost:8080/hook", local)
    assert check_url_form("http://[::1]:8080/hook", local)
    for url in (
        "http://10.0.0.1/hook",
        "http://169.254.169.254/",
        "http://0x7f000001/hook",
        "http://user:pass@127.0.0.1/hook",
        "http://127.0.0.1:0/hook",
    ):
        with pytest.raises(UrlRefused):
            check_url_form(url, local)
