"""Access-token verification, which caches the tokens it has verified once."""

from __future__ import annotations

import dataclasses
import time

import pytest

from api import security
from api.errors import ApiError
from core.settings import Settings

USER = "8c6f2b34-0000-4000-8000-000000000001"


def settings() -> Settings:
    return Settings.from_env()


def test_a_cached_token_is_refused_once_it_expires(monkeypatch):
    token = security.issue_access_token(settings(), USER, "user", ttl=60)
    assert security.decode_access_token(settings(), token)["sub"] == USER
    now = time.time()
    monkeypatch.setattr(security.time, "time", lambda: now + 60 + security.LEEWAY)
    with pytest.raises(ApiError) as refused:
        security.decode_access_token(settings(), token)
    assert (refused.value.status, refused.value.code) == (401, "token_expired")


def test_a_token_is_verified_against_the_current_secret_and_its_signature():
    token = security.issue_access_token(settings(), USER, "user")
    security.decode_access_token(settings(), token)
    other = dataclasses.replace(settings(), jwt_secret="another secret of at least 32 bytes......")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for s, t in ((other, token), (settings(), tampered)):
        with pytest.raises(ApiError) as refused:
            security.decode_access_token(s, t)
        assert refused.value.code == "unauthorized"


def test_callers_cannot_change_the_cached_claims():
    token = security.issue_access_token(settings(), USER, "user")
    security.decode_access_token(settings(), token)["sub"] = "someone else"
    assert security.decode_access_token(settings(), token)["sub"] == USER
