"""Red-team input of issue 14: nothing anonymous or tampered reaches a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest

from api.search.service import search_fingerprint
from core.crypto import ACCESS_TOKENS, derive_key
from tests.factories import create_user

AUTH_ROUTES = ("/auth/login", "/auth/register", "/auth/refresh")


def _b64(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", AUTH_ROUTES)
@pytest.mark.parametrize("body", [b'{"email": "\xff"}', b"[" * 5000 + b"]" * 5000], ids=["undecodable", "too-deep"])
async def test_undecodable_or_too_deep_json_is_400(client, path, body):
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad_request"


async def test_nul_characters_are_422_naming_their_field(client, settings, db):
    response = await client.post("/auth/login", json={"email": "a\u0000b@example.org", "password": "x"})
    assert response.status_code == 422 and response.json()["field"] == "email", response.text
    user = await create_user(db, settings)
    response = await client.patch("/me", headers=user.headers, json={"preferences": {"tone": "so\u0000ft"}})
    assert response.status_code == 422 and response.json()["field"] == "preferences.tone", response.text
    response = await client.get("/search", headers=user.headers, params={"q": "a\u0000b"})
    assert response.status_code == 422 and response.json()["field"] == "q", response.text


@pytest.mark.parametrize("path", ["/admin/users", "/admin/queue", "/moderation/queue", "/admin/reports/monthly"])
async def test_options_answers_without_running_guards(client, path):
    response = await client.options(path)
    assert response.status_code < 500, response.text
    assert "scope" not in response.text


def _signed(settings, claims: dict) -> str:
    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = b64(
        hmac.new(derive_key(settings.jwt_secret, ACCESS_TOKENS), head + b"." + body, hashlib.sha256).digest()
    )
    return (head + b"." + body + b"." + signature).decode()


@pytest.mark.parametrize(
    "bad", [{"exp": "9999999999"}, {"exp": "soon"}, {"iat": "yesterday"}, {"sub": 7}, {"role": {"admin": True}}]
)
async def test_validly_signed_token_with_malformed_claims_is_401(client, settings, db, bad):
    user = await create_user(db, settings)
    now = int(time.time())
    claims = {
        "sub": user.id,
        "role": "user",
        "iat": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        **bad,
    }
    response = await client.get("/me", headers={"Authorization": f"Bearer {_signed(settings, claims)}"})
    assert response.status_code == 401, response.text


async def test_tampered_cursors_are_422_naming_the_cursor(client, settings, db):
    user = await create_user(db, settings, role="admin")
    h = user.headers
    some_id = str(uuid.uuid4())
    conversation_id = await db.fetchval(
        "INSERT INTO conversations (user_id) VALUES ($1::uuid) RETURNING id::text", user.id
    )
    early = "0001-01-01T00:00:00+05:00"  # fine for Python, below year 1 in UTC
    cases = {
        "/conversations": _b64(["conversations", early, some_id]),
        "/admin/users": _b64([early, some_id]),
        "/techniques?sort=new": _b64(["techniques_new", early, some_id]),
        "/techniques?sort=top": _b64(["techniques_top", 1e40, some_id]),
        "/resources?sort=top": _b64(["resources_top", "1e999", some_id]),
        "/moderation/queue": _b64(["queue", "9999-12-31T23:59:59-05:00", some_id]),
        f"/conversations/{conversation_id}/messages": _b64(["history", 2**40]),
        "/search?q=socrates": _b64(["search", "1e40", some_id, 3, search_fingerprint("socrates", None)]),
        "/search?q=plato": _b64(["search", "0.5", some_id, 2**40, search_fingerprint("plato", None)]),
    }
    for path, cursor in cases.items():
        separator = "&" if "?" in path else "?"
        response = await client.get(f"{path}{separator}cursor={cursor}", headers=h)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == "cursor", (path, response.text)
    technique_id = await db.fetchval("SELECT id::text FROM techniques LIMIT 1")
    response = await client.get(
        f"/techniques/{technique_id}/versions?cursor={_b64(['versions', 2**40, None])}", headers=h
    )
    assert response.status_code == 422 and response.json()["field"] == "cursor", response.text


@pytest.mark.parametrize("month", ["0000-01", "0000-00", "10000-01"])
async def test_out_of_range_months_are_422_naming_month(client, settings, db, month):
    admin = await create_user(db, settings, role="admin")
    response = await client.get(f"/admin/reports/monthly?month={month}", headers=admin.headers)
    assert response.status_code == 422 and response.json()["field"] == "month", response.text


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/", "http://localhost./"]
)
async def test_every_ipv4_spelling_of_a_private_webhook_target_is_refused_when_set(client, settings, db, url):
    user = await create_user(db, settings)
    response = await client.patch("/me", headers=user.headers, json={"webhook_url": url})
    assert response.status_code == 422 and response.json()["field"] == "webhook_url", response.text
    assert await db.fetchval("SELECT webhook_url FROM users WHERE id = $1::uuid", user.id) is None
