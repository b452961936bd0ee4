"""Pure helpers of the sharing feature: tokens, keyed visitor hashes, referrer hosts.
(Its list cursors are core/cursors.py's, tested through the route in
tests/integration/test_sharing_links.py.)"""

from __future__ import annotations

import pytest

from api.sharing.service import (
    new_token,
    referrer_host,
    visitor_hash,
)
from core.crypto import hash_token
from core.settings import Settings


def test_tokens_carry_256_random_bits_and_are_stored_as_sha256():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 43 for t in tokens)  # 32 bytes, base64url without padding
    assert len(hash_token("abc")) == 32 and hash_token("abc") != hash_token("abd")


def test_visitor_hash_is_keyed_by_the_server_secret():
    a, b = Settings(jwt_secret="one-secret-value" * 2), Settings(jwt_secret="another-secret" * 3)
    assert visitor_hash(a, "203.0.113.7") == visitor_hash(a, "203.0.113.7")
    assert visitor_hash(a, "203.0.113.7") != visitor_hash(a, "203.0.113.8")
    assert visitor_hash(a, "203.0.113.7") != visitor_hash(b, "203.0.113.7")
    assert b"203.0.113.7" not in visitor_hash(a, "203.0.113.7")


@pytest.mark.parametrize(
    "header, host",
    [
        ("https://News.Example.com/a/b?token=secret#x", "news.example.com"),
        ("http://user:pass@example.org:8080/", "example.org"),
        ("android-app://com.example.app/", "com.example.app"),
        ("not a url", None),
        ("", None),
        (None, None),
        ("http://[::1", None),
        ("https://" + "a" * 300 + ".com/", None),
    ],
)
def test_referrer_keeps_the_host_only(header, host):
    assert referrer_host(header) == host
