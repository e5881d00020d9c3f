"""The SSRF guard: a webhook URL is resolved once, every address vetted, and only a vetted address connected to.

Webhook URLs come from customers, and the delivery function runs inside AWS: an unguarded POST could reach
the instance metadata service (169.254.169.254), the Lambda runtime API on loopback, or a private network.
So a URL is refused unless every address its host resolves to is a public unicast address. The caller then
connects to the vetted address itself, never to the name, so a second DNS answer (rebinding) cannot switch it.

`WEBHOOK_ALLOW_HOSTS` (comma-separated host names or CIDRs) admits addresses the guard would refuse. It is
empty in production; the local runtime and tests set it to loopback. It never relaxes the URL rules.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Written out, not only `is_global`, because the standard library's answer changed across Python versions.
_FORBIDDEN_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 included
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, the instance metadata service included
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",  # IETF assignments, documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast included
    )
)
_FORBIDDEN_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",
        "::1/128",  # unspecified, loopback
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",
        "3fff::/20",  # documentation (3fff::/20 is newer than some Pythons' tables)
        "5f00::/16",  # SRv6 segment identifiers
        "fc00::/7",  # unique local
        "fe80::/10",
        "fec0::/10",  # link-local, site-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
# Labels of an IPv4 address written the way inet_aton also accepts: decimal, octal (leading 0) or hex (0x).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_HOST_CHARS = re.compile(r"^[a-z0-9.\-_]+$")


class UrlRefused(ValueError):
    """The URL may not be delivered to; the message says why (it is recorded as the attempt's error)."""


class HostUnresolved(UrlRefused):
    """The host did not resolve (NXDOMAIN, a resolver failure): perhaps only for now, so the attempt is retried on
    the schedule rather than failed for good."""


@dataclass(frozen=True)
class VettedUrl:
    """A URL that passed the guard, with the addresses (in resolver order) it may be connected to."""

    scheme: str
    host: str  # the name as written (for Host, SNI and certificate checks), lower case, no brackets
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip().lower() for e in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def admits(self, host: str, address: IPAddress) -> bool:
        return host in self.hosts or any(address in network for network in self.networks)


NO_ALLOW_LIST = AllowList(frozenset(), ())


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a connection to this address is refused, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"{reason} (inside {address})" if reason else None
        if address.scope_id or any(address in network for network in _FORBIDDEN_V6):
            return f"{address} is not a public address"
    elif any(address in network for network in _FORBIDDEN_V4):
        return f"{address} is not a public address"
    if not address.is_global or address.is_multicast or address.is_reserved or address.is_private:
        return f"{address} is not a public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64), which is what the packet really reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, target) of an http(s) URL without userinfo; raises UrlRefused otherwise."""
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UrlRefused("the URL contains whitespace or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused(f"only http and https URLs are delivered to, not {scheme or 'a relative URL'}")
    if "@" in parts.netloc:
        raise UrlRefused("URLs with a user name or password are refused; use the webhook's auth header")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("the URL has no host")
    try:
        explicit_port = parts.port
    except ValueError as error:
        raise UrlRefused("the URL's port is not a number from 1 to 65535") from error
    port = (443 if scheme == "https" else 80) if explicit_port is None else explicit_port
    if not 0 < port < 65536:
        raise UrlRefused("the URL's port is not a number from 1 to 65535")
    if ":" not in host:  # a name or an IPv4 literal (IPv6 literals are bracketed and hold ':')
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as error:
            raise UrlRefused("the URL's host is not a valid name") from error
        if not _HOST_CHARS.match(host):
            raise UrlRefused("the URL's host is not a valid name")
        _refuse_odd_ipv4_spelling(host)
    elif "%" in host:
        raise UrlRefused("IPv6 zone identifiers are refused")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, target


def _refuse_odd_ipv4_spelling(host: str) -> None:
    """0x7f000001, 2130706433, 017700000001, 127.1: resolvers read these as IPv4; only dotted quads pass."""
    if all(_NUMERIC_LABEL.match(label) for label in host.split(".")):
        try:
            ipaddress.IPv4Address(host)
        except ValueError as error:
            raise UrlRefused(f"{host} is an IP address in an ambiguous spelling; write it as a dotted quad") from error


def check_url_form(url: str, allow: AllowList = NO_ALLOW_LIST) -> str:
    """Refuse, at registration, a URL whose form alone rules it out: what `parse_url` refuses (schemes other than
    http and https, user info, ports outside 1-65535, ambiguous IPv4 spellings such as 0x7f000001, 2130706433,
    0177.0.0.1 or 127.1, IPv6 zone ids) and a literal address that is not public (private, loopback, link-local,
    reserved, multicast, unspecified; IPv4 inside IPv6 included), or a name that always means loopback
    (localhost). The allow-list admits what it admits at delivery (the local runtime's loopback). Nothing is
    resolved: a name's addresses are vetted at each delivery. Answers the URL; raises UrlRefused."""
    _, host, _, _ = parse_url(url)
    try:
        address: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None:
        if (host == "localhost" or host.endswith(".localhost")) and not (
            host in allow.hosts or allow.admits(host, ipaddress.IPv4Address("127.0.0.1"))
        ):
            raise UrlRefused(f"{host} is a loopback name")
        return url
    reason = forbidden_reason(address)
    if reason and not allow.admits(host, address):
        raise UrlRefused(reason)
    return url


def check_registered_url(url: str) -> str:
    """`check_url_form` with the stack's allow-list (WEBHOOK_ALLOW_HOSTS), as registration applies it."""
    from pollgate.settings import get_settings

    return check_url_form(url, AllowList.parse(get_settings().webhook_allow_hosts))


def vet_url(url: str, allow: AllowList = NO_ALLOW_LIST) -> VettedUrl:
    """Parse, resolve once, and vet every address. Raises UrlRefused with the reason."""
    scheme, host, port, target = parse_url(url)
    addresses = resolve(host, port)
    for address in addresses:
        reason = forbidden_reason(address)
        if reason and not allow.admits(host, address):
            raise UrlRefused(f"{host} resolves to {reason}" if str(address) != host else reason)
    return VettedUrl(scheme, host, port, target, tuple(str(a) for a in addresses))


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise HostUnresolved(f"{host} does not resolve") from error
    addresses = _unique(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in answers)
    if not addresses:
        raise HostUnresolved(f"{host} does not resolve")
    return addresses


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    seen: dict[IPAddress, None] = {}
    for address in addresses:
        seen.setdefault(address, None)
    return list(seen)
