"""Guarding requests to user-supplied URLs (webhooks) against reaching our own network.

A user's webhook_url must not make Mukti POST to loopback, private, link-local or other
non-public addresses (SSRF: cloud metadata endpoints, the database port, internal
services). The URL is checked when it is set (IP literals and localhost names) and the
name is resolved and checked again when each delivery is sent. Redirects are never
followed by the sender. Deployments that deliver to an internal receiver on purpose set
MUKTI_WEBHOOK_ALLOW_PRIVATE=1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """The URL is malformed or points at an address webhooks may not reach."""


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


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
    host = parts.hostname
    if not allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise UnsafeTarget("must not point to this machine")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not literal.is_global:
            raise UnsafeTarget("must not point to a private, loopback or link-local address")
    return host, port


async def check_resolved(url: str, *, allow_private: bool) -> None:
    """Resolve the URL's host now and refuse it unless every address is public."""
    host, port = check_url(url, allow_private=allow_private)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"the host {host!r} does not resolve") from exc
    private = sorted({str(info[4][0]) for info in infos if not _is_public(str(info[4][0]))})
    if private:
        raise UnsafeTarget(f"the host {host!r} resolves to non-public addresses {', '.join(private)}")
