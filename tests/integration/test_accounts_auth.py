"""Registration, login, throttling, refresh-token rotation, logout and forged tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest
from argon2 import PasswordHasher

from api.accounts.passwords import HASHER
from api.security import issue_access_token
from core.crypto import ACCESS_TOKENS, derive_key
from tests.factories import create_user
from tests.integration.accounts_support import PASSWORD, bearer, new_email, register


async def test_register_returns_user_and_tokens_on_the_free_plan(client, db):
    body = await register(client, display_name="Ada")
    assert body["user"]["role"] == "user" and body["user"]["display_name"] == "Ada"
    me = await client.get("/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == body["user"]["id"]
    assert await db.fetchval("SELECT plan_id FROM subscriptions WHERE user_id = $1::uuid", body["user"]["id"]) == "free"
    stored = await db.fetchval("SELECT password_hash FROM users WHERE id = $1::uuid", body["user"]["id"])
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_taken_email_is_409_case_insensitively(client):
    email = new_email()
    await register(client, email)
    response = await client.post("/auth/register", json={"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 409 and response.json()["code"] == "conflict"


async def test_short_password_is_422_naming_password(client, db):
    email = new_email()
    response = await client.post("/auth/register", json={"email": email, "password": "123456789"})
    assert response.status_code == 422 and response.json()["field"] == "password"
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = $1", email) == 0


async def test_register_cannot_choose_a_role(client, db):
    email = new_email()
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD, "role": "admin"})
    assert response.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = $1", email) == 0


async def test_twenty_concurrent_registrations_of_one_email_make_one_account(client, db):
    email = new_email()
    variants = [email if i % 2 else email.upper() for i in range(20)]
    responses = await asyncio.gather(
        *(client.post("/auth/register", json={"email": e, "password": PASSWORD}) for e in variants)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert await db.fetchval("SELECT count(*) FROM users WHERE lower(email) = lower($1)", email) == 1
    assert (
        await db.fetchval(
            """SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id
                                 WHERE lower(u.email) = lower($1)""",
            email,
        )
        == 1
    )


async def test_login_and_the_same_401_for_wrong_password_and_unknown_email(client):
    email = new_email()
    await register(client, email)
    ok = await client.post("/auth/login", json={"email": email.upper(), "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["user"]["email"] == email
    wrong = await client.post("/auth/login", json={"email": email, "password": PASSWORD + "!"})
    unknown = await client.post("/auth/login", json={"email": new_email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    # Alike but for the request id each answer carries.
    same = {k: v for k, v in wrong.json().items() if k != "instance"}
    assert same == {k: v for k, v in unknown.json().items() if k != "instance"}


async def test_login_rehashes_when_the_parameters_changed(client, db):
    email = new_email()
    user = (await register(client, email))["user"]
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await db.execute("UPDATE users SET password_hash = $2 WHERE id = $1::uuid", user["id"], weak)
    assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200
    stored = await db.fetchval("SELECT password_hash FROM users WHERE id = $1::uuid", user["id"])
    assert stored != weak and not HASHER.check_needs_rehash(stored)


async def test_failed_logins_for_one_email_are_throttled_with_retry_after(client):
    email = new_email()
    await register(client, email)
    for _ in range(5):
        r = await client.post("/auth/login", json={"email": email, "password": "wrong password!"})
        assert r.status_code == 401
    blocked = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json()["code"] == "rate_limited"
    assert 890 <= int(blocked.headers["Retry-After"]) <= 900


async def test_successful_logins_do_not_count(client):
    email = new_email()
    await register(client, email)
    for _ in range(4):
        assert (
            await client.post("/auth/login", json={"email": email, "password": "nope nope nope"})
        ).status_code == 401
    for _ in range(3):
        assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200
    assert (await client.post("/auth/login", json={"email": email, "password": "nope nope nope"})).status_code == 401
    assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 429


async def test_concurrent_guesses_cannot_exceed_the_limit(client):
    email = new_email()
    await register(client, email)
    responses = await asyncio.gather(
        *(client.post("/auth/login", json={"email": email, "password": f"guess {i:06d}"}) for i in range(12))
    )
    assert sorted(r.status_code for r in responses) == [401] * 5 + [429] * 7


async def test_failed_logins_from_one_address_are_throttled(client):
    for _ in range(20):
        r = await client.post("/auth/login", json={"email": new_email(), "password": "whatever it is"})
        assert r.status_code == 401
    r = await client.post("/auth/login", json={"email": new_email(), "password": "whatever it is"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    email = new_email()
    first = await register(client, email)
    other_session = (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).json()

    rotated = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/me", headers=bearer(second["access_token"]))).status_code == 200

    reused = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    # The thief's (or the victim's) newer token of that family is dead too ...
    assert (await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401
    # ... but another session is not.
    assert (
        await client.post("/auth/refresh", json={"refresh_token": other_session["refresh_token"]})
    ).status_code == 200


async def test_logout_revokes_the_refresh_token(client):
    tokens = await register(client)
    assert (await client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})).status_code == 204
    assert (await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": "not-a-token"})).status_code == 401


async def test_expired_refresh_token_is_refused(client, db):
    tokens = await register(client)
    await db.execute(
        "UPDATE refresh_tokens SET issued_at = now() - interval '2 days', expires_at = now() - interval '1 day'"
    )
    assert (await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# The "other algorithm" token signs with our 32-byte key under HS512, which PyJWT warns about:
# that forgery is the point.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_forged_access_tokens_are_401(client, db, settings):
    user = await create_user(db, settings)
    assert (await client.get("/me", headers=user.headers)).status_code == 200
    now = int(time.time())
    claims = {
        "sub": user.id,
        "role": "admin",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong key": jwt.encode(claims, "another-secret-that-is-long-enough-0123456789", algorithm="HS256"),
        "other algorithm": jwt.encode(claims, derive_key(settings.jwt_secret, ACCESS_TOKENS), algorithm="HS512"),
        "expired": issue_access_token(settings, user.id, "user", ttl=-60),
        "wrong audience": jwt.encode(
            {**claims, "aud": "someone-else"}, derive_key(settings.jwt_secret, ACCESS_TOKENS), algorithm="HS256"
        ),
        "wrong issuer": jwt.encode(
            {**claims, "iss": "someone-else"}, derive_key(settings.jwt_secret, ACCESS_TOKENS), algorithm="HS256"
        ),
        "no expiry": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"},
            derive_key(settings.jwt_secret, ACCESS_TOKENS),
            algorithm="HS256",
        ),
        "tampered payload": user.token.rsplit(".", 2)[0] + "." + _b64(claims) + "." + user.token.rsplit(".", 1)[1],
    }
    refused = {name: (await client.get("/me", headers=bearer(token))).status_code for name, token in forged.items()}
    assert refused == {name: 401 for name in forged}
