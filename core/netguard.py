"""Guarding requests to user-supplied URLs (webhooks) against reaching our own network.

A user's webhook_url must not make Mukti POST to loopback, private, link-local or other
non-public addresses (SSRF: cloud metadata endpoints, the database port, internal
services). The URL is checked when it is set (IP literals in every spelling a resolver
accepts, and localhost names) and the name is resolved and checked again when each
delivery is sent; the delivery then connects to the very address that was checked
(`Target.request_args`), never resolving the name a second time. Redirects are never
followed by the sender. Deployments that deliver to an internal receiver on purpose set
MUKTI_WEBHOOK_ALLOW_PRIVATE=1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class UnsafeTarget(ValueError):
    """The URL is malformed or points at an address webhooks may not reach."""


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


def _canonical_host(host: str) -> str:
    """The host as a resolver sees it: IDNA-encoded (full-width and other compatibility
    spellings fold, e.g. ｌｏｃａｌｈｏｓｔ), without the trailing dot of a fully
    qualified name (`localhost.` is localhost)."""
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise UnsafeTarget("has an invalid host name") from exc
    return ascii_host.rstrip(".").lower()


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` denotes if it is an IP literal in any spelling a resolver
    accepts: besides dotted quads, inet_aton's legacy IPv4 forms (2130706433, 0x7f000001,
    0177.0.0.1, 127.1), which getaddrinfo and thus every HTTP client honour."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(c.isalnum() or c == "." for c in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str, *, allow_private: bool) -> tuple[str, int]:
    """The (host, port) of an acceptable webhook URL, or UnsafeTarget saying why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise UnsafeTarget("must be an http or https URL")
    if parts.username or parts.password:
        raise UnsafeTarget("must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeTarget("has an invalid port") from exc
    host = _canonical_host(parts.hostname)
    if not host:
        raise UnsafeTarget("must be an http or https URL")
    if not allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise UnsafeTarget("must not point to this machine")
        literal = ip_literal(host)
        if literal is not None and not literal.is_global:
            raise UnsafeTarget("must not point to a private, loopback or link-local address")
    return host, port


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: `address` was checked, and is the only one used."""

    url: str
    host: str
    address: str | None  # None: private targets allowed, the client resolves as usual

    def request_args(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """(url, headers, httpx extensions) that connect to `address` itself, never
        resolving `host` again (no DNS-rebinding window between the check and the
        connect), while the server still sees its own name in Host and TLS SNI, and the
        certificate is verified against that name."""
        if self.address is None:
            return self.url, {}, {}
        parts = urlsplit(self.url)
        ip = self.address if ":" not in self.address else f"[{self.address}]"
        netloc = ip if parts.port is None else f"{ip}:{parts.port}"
        host_header = self.host if parts.port is None else f"{self.host}:{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return pinned, {"Host": host_header}, {"sni_hostname": self.host}


async def check_resolved(url: str, *, allow_private: bool) -> Target:
    """Resolve the URL's host now and refuse it unless every address is public; the
    address to connect to."""
    host, port = check_url(url, allow_private=allow_private)
    if allow_private:
        return Target(url, host, None)
    literal = ip_literal(host)
    if literal is not None:  # public, or check_url had refused it
        return Target(url, host, str(literal))
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"the host {host!r} does not resolve") from exc
    addresses = [str(info[4][0]) for info in infos]
    private = sorted({a for a in addresses if not _is_public(a)})
    if private:
        raise UnsafeTarget(f"the host {host!r} resolves to non-public addresses {', '.join(private)}")
    if not addresses:
        raise UnsafeTarget(f"the host {host!r} does not resolve")
    return Target(url, host, addresses[0].split("%", 1)[0])
