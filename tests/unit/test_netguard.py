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
