"""Hashing and signing helpers shared by the API and the workers."""

from __future__ import annotations

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
