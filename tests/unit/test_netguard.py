import socket

import pytest

from core.netguard import UnsafeTarget, check_resolved, check_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://192.168.1.1/",
        "http://localhost:8000/",
        "http://api.localhost/",
        "ftp://example.org/",
        "https://user:pw@example.org/",
        "not a url",
        "http://100.64.0.1/",
        # Every IPv4 spelling a resolver accepts (inet_aton), and the FQDN form of localhost.
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0/",
        "http://localhost./",
        "http://127.0.0.1./",
        "http://[::ffff:127.0.0.1]/",
        "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # full-width "localhost"
    ],
)
def test_private_or_malformed_targets_are_refused(url):
    with pytest.raises(UnsafeTarget):
        check_url(url, allow_private=False)


def test_public_targets_pass():
    assert check_url("https://hooks.example.org/mukti", allow_private=False) == ("hooks.example.org", 443)
    assert check_url("http://93.184.216.34:8080/x", allow_private=False) == ("93.184.216.34", 8080)


def test_private_targets_pass_when_allowed():
    assert check_url("http://127.0.0.1:9000/hook", allow_private=True) == ("127.0.0.1", 9000)


def _resolving_to(monkeypatch, address: str) -> None:
    # Name resolution is the input here; the machine's resolver has no public names offline.
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


async def test_a_name_resolving_to_a_private_address_is_refused_at_send_time(monkeypatch):
    _resolving_to(monkeypatch, "10.1.2.3")
    with pytest.raises(UnsafeTarget, match="non-public addresses 10.1.2.3"):
        await check_resolved("https://hooks.example.org/mukti", allow_private=False)


async def test_a_name_resolving_to_a_public_address_passes(monkeypatch):
    _resolving_to(monkeypatch, "93.184.216.34")
    await check_resolved("https://hooks.example.org/mukti", allow_private=False)


async def test_delivery_connects_to_the_checked_address_and_never_resolves_again(monkeypatch):
    """DNS rebinding: the name answers a harmless address at the check and another one
    after. The request goes to the first, with the name in Host (and SNI for https)."""
    import asyncio

    import httpx

    from core import netguard

    seen: list[bytes] = []

    async def receiver(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    answers = iter(["127.0.0.1", "127.0.0.2"])  # the second would be the rebinding
    lookups: list[str] = []

    def rebinding_getaddrinfo(host, port_, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port_))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    # Loopback stands in for a public address here: the receiver must run on this machine.
    monkeypatch.setattr(netguard, "_is_public", lambda address: address == "127.0.0.1")
    target = await check_resolved(f"http://hooks.example.org:{port}/in?x=1", allow_private=False)
    url, headers, extensions = target.request_args()
    assert url == f"http://127.0.0.1:{port}/in?x=1"
    assert extensions == {"sni_hostname": "hooks.example.org"}
    async with httpx.AsyncClient() as client, server:
        response = await client.post(url, content=b"{}", headers=headers, extensions=extensions)
    assert response.status_code == 204
    assert lookups == ["hooks.example.org"]
    assert f"host: hooks.example.org:{port}".encode() in seen[0].lower()
