"""Registration floods and Unicode tricks against the login throttle (issue 14)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from api.accounts import passwords
from tests.integration.accounts_support import PASSWORD, new_email, register
from tests.live_app import live_client


async def _register(client, email=None):
    return await client.post("/auth/register", json={"email": email or new_email(), "password": PASSWORD})


async def test_registration_is_throttled_per_address_and_writes_nothing(settings, db):
    limited = dataclasses.replace(settings, register_per_address=3, register_global=1000)
    async with live_client(limited, client_address="198.51.100.7") as client:
        responses = await asyncio.gather(*(_register(client) for _ in range(8)))
        assert sorted(r.status_code for r in responses) == [201] * 3 + [429] * 5
        refused = next(r for r in responses if r.status_code == 429)
        assert refused.json()["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
    async with live_client(limited, client_address="198.51.100.8") as other:
        assert (await _register(other)).status_code == 201
    assert await db.fetchval("SELECT count(*) FROM users") == 4


async def test_registration_is_throttled_globally(settings, db):
    limited = dataclasses.replace(settings, register_per_address=100, register_global=4)
    statuses = []
    for i in range(6):
        async with live_client(limited, client_address=f"203.0.113.{i}") as client:
            statuses.append((await _register(client)).status_code)
    assert statuses == [201] * 4 + [429] * 2
    assert await db.fetchval("SELECT count(*) FROM users") == 4


class CountingHasher:
    """The real hasher, counting how many hashes run at once."""

    def __init__(self, real) -> None:
        self.real, self.lock, self.running, self.peak = real, threading.Lock(), 0, 0

    def hash(self, password: str) -> str:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            return self.real.hash(password)
        finally:
            with self.lock:
                self.running -= 1


async def test_a_flood_hashes_at_most_the_cap_at_once(client, monkeypatch):
    counting = CountingHasher(passwords.HASHER)
    monkeypatch.setattr(passwords, "HASHER", counting)
    responses = await asyncio.gather(*(_register(client) for _ in range(12)))
    assert {r.status_code for r in responses} == {201}
    assert 1 <= counting.peak <= passwords.HASH_CONCURRENCY


async def test_unicode_case_does_not_reset_the_login_lockout(client):
    email = f"victim-{new_email()}"
    await register(client, email)
    for _ in range(5):
        wrong = await client.post("/auth/login", json={"email": email, "password": "not the password!"})
        assert wrong.status_code == 401
    # U+0130 (İ): Python's lower() made it a fresh throttle key, Postgres' lower() found the account.
    dotted = email.replace("i", "\u0130", 1)
    for spelling in (email.upper(), dotted, f" {email} "):
        response = await client.post("/auth/login", json={"email": spelling, "password": PASSWORD})
        assert response.status_code in (401, 429), (spelling, response.text)
    assert (await client.post("/auth/login", json={"email": email.upper(), "password": PASSWORD})).status_code == 429


async def test_emails_are_unique_after_nfkc_and_case_folding(client, db):
    email = new_email()
    await register(client, email)
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() and c.isascii() else c for c in email.split("@")[0])
    for variant in (email.upper(), f"{full_width}@{email.split('@')[1]}"):
        assert (await _register(client, variant)).status_code == 409, variant
    assert await db.fetchval("SELECT email FROM users") == email
