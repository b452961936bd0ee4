"""Hashing and signing helpers shared by the API and the workers."""

from __future__ import annotations

import functools
import hashlib
import hmac

SIGNATURE_HEADER = "X-Mukti-Signature"


def hash_token(token: str) -> bytes:
    """Bearer secrets (refresh tokens, share tokens) are stored as SHA-256: they are
    256-bit random, so no salt or stretching is needed."""
    return hashlib.sha256(token.encode()).digest()


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`: `sha256=<hex HMAC-SHA256 of the exact bytes>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(secret, body).encode(), (header or "").strip().lower().encode())


# Purposes that need a key of their own, each derived from MUKTI_JWT_SECRET by HKDF, so
# that no key ever signs two kinds of things. (Webhook and billing signatures use their
# own secrets as they are: the other side holds the same secret.)
ACCESS_TOKENS = b"mukti/access-tokens/v1"
LOGIN_THROTTLE = b"mukti/login-throttle/v1"
SHARE_VISITOR = b"mukti/share-visitor/v1"


@functools.lru_cache(maxsize=16)
def derive_key(secret: str, purpose: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) of `secret` for `purpose`: extract with a fixed salt, then
    expand with the purpose as `info`."""
    prk = hmac.new(b"mukti-hkdf-salt", secret.encode(), hashlib.sha256).digest()
    return hkdf_expand(prk, purpose, length)


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """The expand step of RFC 5869 with SHA-256."""
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]
