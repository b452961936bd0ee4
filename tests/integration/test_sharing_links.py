"""Share links end to end: snapshot, atomic view limit, expiry, revocation, passwords,
throttling, ownership and analytics, against a real Postgres."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack

import asyncpg
import pytest

from api.sharing import service
from core.cursors import encode
from core.settings import Settings
from tests import factories
from tests.factories import create_user
from tests.live_app import live_client


async def make_conversation(
    db: asyncpg.Connection,
    user: factories.TestUser,
    *,
    archived: int = 0,
    recent: int = 3,
    title: str = "What is justice?",
) -> str:
    """A conversation with messages 1..archived in archived_messages and the next `recent` in recent_messages."""
    total = archived + recent
    conversation_id = await db.fetchval(
        "INSERT INTO conversations (user_id, title, message_count, archived_count) VALUES ($1::uuid, $2, $3, $4)"
        " RETURNING id::text",
        user.id,
        title,
        total,
        archived,
    )
    for seq in range(1, total + 1):
        table = "archived_messages" if seq <= archived else "recent_messages"
        await db.execute(
            f"INSERT INTO {table} (conversation_id, seq, user_id, role, content, created_at)"
            " VALUES ($1::uuid, $2, $3::uuid, $4, $5, now())",
            conversation_id,
            seq,
            user.id,
            "user" if seq % 2 else "assistant",
            f"message {seq}",
        )
    return conversation_id


async def add_message(db: asyncpg.Connection, user: factories.TestUser, conversation_id: str, content: str) -> None:
    seq = await db.fetchval(
        "UPDATE conversations SET message_count = message_count + 1 WHERE id = $1::uuid RETURNING message_count",
        conversation_id,
    )
    await db.execute(
        "INSERT INTO recent_messages (conversation_id, seq, user_id, role, content)"
        " VALUES ($1::uuid, $2, $3::uuid, 'user', $4)",
        conversation_id,
        seq,
        user.id,
        content,
    )


async def share(client, user: factories.TestUser, conversation_id: str, **body) -> dict:
    response = await client.post(f"/conversations/{conversation_id}/shares", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_share_shows_the_conversation_as_it_was_when_shared(client, db, settings):
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner, archived=2, recent=3)
    link = await share(client, owner, conversation_id)
    assert link["max_views"] == 100 and link["snapshot_seq"] == 5
    assert link["url"].endswith(f"/shared/{link['token']}")

    await add_message(db, owner, conversation_id, "a private afterthought")

    response = await client.get(f"/shared/{link['token']}")  # no Authorization: public
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "What is justice?" and body["technique"] is None
    assert [m["seq"] for m in body["messages"]] == [1, 2, 3, 4, 5]  # archived and recent, in order
    assert [m["content"] for m in body["messages"]] == [f"message {i}" for i in range(1, 6)]
    assert "a private afterthought" not in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_fifty_concurrent_views_of_a_ten_view_link(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner), max_views=10)

    async with live_client(settings) as concurrent:
        responses = await asyncio.gather(*(concurrent.get(f"/shared/{link['token']}") for _ in range(50)))

    assert Counter(r.status_code for r in responses) == {200: 10, 410: 40}
    assert all(r.json()["code"] == "gone" for r in responses if r.status_code == 410)
    row = await db.fetchrow(
        "SELECT view_count, (SELECT count(*) FROM shared_link_views v"
        " WHERE v.shared_link_id = l.id) AS logged FROM shared_links l WHERE id = $1::uuid",
        link["id"],
    )
    assert (row["view_count"], row["logged"]) == (10, 10)


async def test_expired_and_revoked_links_are_gone_and_unknown_is_404(client, db, settings):
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner)
    expired, revoked = await share(client, owner, conversation_id), await share(client, owner, conversation_id)
    await db.execute(
        "UPDATE shared_links SET created_at = now() - interval '2 days',"
        " expires_at = now() - interval '1 second' WHERE id = $1::uuid",
        expired["id"],
    )
    assert (await client.delete(f"/shares/{revoked['id']}", headers=owner.headers)).status_code == 204
    assert (await client.delete(f"/shares/{revoked['id']}", headers=owner.headers)).status_code == 204

    for link in (expired, revoked):
        response = await client.get(f"/shared/{link['token']}")
        assert response.status_code == 410 and response.json()["code"] == "gone"
    unknown = await client.get("/shared/" + "A" * 43)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert await db.fetchval("SELECT sum(view_count) FROM shared_links") == 0


async def test_another_user_cannot_see_or_touch_your_links(client, db, settings):
    owner, other = await create_user(db, settings), await create_user(db, settings)
    conversation_id = await make_conversation(db, owner)
    link = await share(client, owner, conversation_id)

    assert (await client.get(f"/conversations/{conversation_id}/shares", headers=other.headers)).status_code == 404
    assert (
        await client.post(f"/conversations/{conversation_id}/shares", json={}, headers=other.headers)
    ).status_code == 404
    assert (await client.delete(f"/shares/{link['id']}", headers=other.headers)).status_code == 404
    assert (await client.get(f"/shares/{link['id']}/analytics", headers=other.headers)).status_code == 404
    assert await db.fetchval("SELECT revoked_at FROM shared_links WHERE id = $1::uuid", link["id"]) is None
    assert (await client.get(f"/conversations/{conversation_id}/shares")).status_code == 401


async def test_database_holds_no_plaintext_token_password_or_address(client, db, settings):
    owner = await create_user(db, settings)
    password = "correct horse battery"
    link = await share(client, owner, await make_conversation(db, owner), password=password)
    ok = await client.get(f"/shared/{link['token']}", headers={"X-Share-Password": password})
    assert ok.status_code == 200
    wrong = await client.get(f"/shared/{link['token']}", headers={"X-Share-Password": password + "!"})
    assert wrong.status_code == 401
    address = "testclient"  # the client address the in-process test transport reports

    secrets_ = [link["token"], password, address]
    needles = secrets_ + [s.encode().hex() for s in secrets_]  # bytea renders as hex
    tables = await db.fetch(
        "SELECT c.oid::regclass::text AS name FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    )
    for table in tables:
        for needle in needles:
            hits = await db.fetchval(f"SELECT count(*) FROM {table['name']} t WHERE strpos(t::text, $1) > 0", needle)
            assert hits == 0, (table["name"], needle)
    stored = await db.fetchrow("SELECT token_hash, password_hash FROM shared_links WHERE id = $1::uuid", link["id"])
    assert stored["password_hash"].startswith("$argon2id$")
    assert len(stored["token_hash"]) == 32


async def test_wrong_or_missing_password_is_401_and_counts_no_view(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner), password="sesame", max_views=1)
    url = f"/shared/{link['token']}"

    assert (await client.get(url)).status_code == 401
    wrong = await client.get(url, headers={"X-Share-Password": "open sesame"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    assert await db.fetchval("SELECT view_count FROM shared_links WHERE id = $1::uuid", link["id"]) == 0

    assert (await client.get(url, headers={"X-Share-Password": "sesame"})).status_code == 200
    # The one view is used up: the right password no longer helps.
    assert (await client.get(url, headers={"X-Share-Password": "sesame"})).status_code == 410


async def test_parallel_wrong_passwords_are_throttled_with_retry_after(client, db, settings):
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner)
    link = await share(client, owner, conversation_id, password="sesame")
    other_link = await share(client, owner, conversation_id, password="sesame")
    url = f"/shared/{link['token']}"

    async with live_client(settings) as concurrent:
        guesses = await asyncio.gather(
            *(concurrent.get(url, headers={"X-Share-Password": f"guess {i}"}) for i in range(12))
        )

        assert Counter(r.status_code for r in guesses) == {401: 5, 429: 7}
        for limited in (r for r in guesses if r.status_code == 429):
            assert limited.json()["code"] == "rate_limited"
            assert 1 <= int(limited.headers["retry-after"]) <= 15 * 60
        # Throttled means not even tried, right password included; other links are unaffected.
        assert (await concurrent.get(url, headers={"X-Share-Password": "sesame"})).status_code == 429
        assert (
            await concurrent.get(f"/shared/{other_link['token']}", headers={"X-Share-Password": "sesame"})
        ).status_code == 200
    # The throttle is per address too: another client address can still get in.
    async with live_client(settings, client_address="198.51.100.7") as elsewhere:
        assert (await elsewhere.get(url, headers={"X-Share-Password": "sesame"})).status_code == 200
    assert await db.fetchval("SELECT view_count FROM shared_links WHERE id = $1::uuid", link["id"]) == 1


async def test_right_passwords_do_not_use_up_the_guess_budget(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner), password="sesame")
    url = f"/shared/{link['token']}"
    for _ in range(6):
        assert (await client.get(url, headers={"X-Share-Password": "sesame"})).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM rate_limits WHERE action LIKE 'share_password%'") == 0


async def test_concurrent_right_passwords_are_never_refused_even_with_one_guess_left(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner), password="sesame")
    url = f"/shared/{link['token']}"
    right = {"X-Share-Password": "sesame"}

    async with live_client(settings) as concurrent:
        views = await asyncio.gather(*(concurrent.get(url, headers=right) for _ in range(10)))
        assert Counter(r.status_code for r in views) == {200: 10}
        for i in range(4):
            assert (await concurrent.get(url, headers={"X-Share-Password": f"guess {i}"})).status_code == 401
        # One wrong guess left in the window: right passwords take turns, none is refused.
        views = await asyncio.gather(*(concurrent.get(url, headers=right) for _ in range(10)))
        assert Counter(r.status_code for r in views) == {200: 10}
        # ... and they did not use up that last guess.
        assert (await concurrent.get(url, headers={"X-Share-Password": "guess 4"})).status_code == 401
        assert (await concurrent.get(url, headers=right)).status_code == 429
    assert await db.fetchval("SELECT view_count FROM shared_links WHERE id = $1::uuid", link["id"]) == 20
    assert await db.fetchval("SELECT count(*) FROM rate_limits WHERE action = 'share_password_pending'") == 0


async def test_wrong_guesses_from_many_addresses_hit_the_per_link_cap(client, db, settings, monkeypatch):
    monkeypatch.setattr(service, "PASSWORD_LINK_MAX_FAILURES", 8)  # 50 in production; 8 keeps Argon2 work small
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner)
    link = await share(client, owner, conversation_id, password="sesame")
    other_link = await share(client, owner, conversation_id, password="sesame")
    url = f"/shared/{link['token']}"

    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(live_client(settings, client_address=f"203.0.113.{i}")) for i in range(1, 5)
        ]
        # Four guesses from each of three addresses, all at once: each address is under its
        # own limit of five, but the link allows eight wrong guesses in all.
        guesses = await asyncio.gather(
            *(c.get(url, headers={"X-Share-Password": f"guess {i}"}) for c in clients[:3] for i in range(4))
        )
        assert Counter(r.status_code for r in guesses) == {401: 8, 429: 4}
        # A fresh address is refused unverified, right password included (see service.py).
        fresh = await clients[3].get(url, headers={"X-Share-Password": "sesame"})
        assert fresh.status_code == 429 and fresh.json()["code"] == "rate_limited"
        assert 3000 < int(fresh.headers["retry-after"]) <= 60 * 60
        assert (
            await clients[3].get(f"/shared/{other_link['token']}", headers={"X-Share-Password": "sesame"})
        ).status_code == 200
    assert await db.fetchval("SELECT view_count FROM shared_links WHERE id = $1::uuid", link["id"]) == 0


async def test_analytics_counts_views_per_day_and_referrer_host(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner), max_views=5)
    url = f"/shared/{link['token']}"
    for referer in ("https://News.example.com/item?id=1&secret=xyz", "https://news.example.com/", None):
        headers = {"Referer": referer} if referer else {}
        assert (await client.get(url, headers=headers)).status_code == 200

    response = await client.get(f"/shares/{link['id']}/analytics", headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["views"] == 3 and body["remaining_views"] == 2 and body["unique_visitors"] == 1
    assert body["last_viewed_at"] is not None
    today = await db.fetchval("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
    assert body["by_day"] == [{"day": today, "views": 3}]
    assert body["referrers"] == [{"referrer": "news.example.com", "views": 2}, {"referrer": None, "views": 1}]
    assert await db.fetchval("SELECT count(*) FROM shared_link_views WHERE referrer LIKE '%secret%'") == 0

    await client.delete(f"/shares/{link['id']}", headers=owner.headers)
    revoked = (await client.get(f"/shares/{link['id']}/analytics", headers=owner.headers)).json()
    assert revoked["views"] == 3 and revoked["remaining_views"] == 0 and revoked["revoked_at"] is not None


async def test_list_never_shows_tokens_and_pages_newest_first(client, db, settings):
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner)
    links = [await share(client, owner, conversation_id) for _ in range(3)]
    await client.delete(f"/shares/{links[0]['id']}", headers=owner.headers)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"/conversations/{conversation_id}/shares", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [item["id"] for item in seen] == [link["id"] for link in reversed(links)]
    assert [item["status"] for item in seen] == ["active", "active", "revoked"]
    # A cursor this list did not issue (garbage, or another list's) is a 422 naming it.
    for forged in ("!!!", "e30", encode("techniques_new", seen[0]["created_at"], seen[0]["id"])):
        response = await client.get(
            f"/conversations/{conversation_id}/shares", params={"cursor": forged}, headers=owner.headers
        )
        assert response.status_code == 422 and response.json()["field"] == "cursor", response.text
    text = str(seen)
    assert all(link["token"] not in text for link in links) and "token" not in seen[0]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"expires_in": 90 * 24 * 3600 + 1}, "expires_in"),
        ({"expires_in": 0}, "expires_in"),
        ({"max_views": 0}, "max_views"),
        ({"max_views": 100_001}, "max_views"),
        ({"password": "abc"}, "password"),
        ({"view_count": 5}, "view_count"),
        ({"user_id": "00000000-0000-0000-0000-000000000000"}, "user_id"),
    ],
)
async def test_create_rejects_bad_or_privileged_input(client, db, settings: Settings, body, field):
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner)
    response = await client.post(f"/conversations/{conversation_id}/shares", json=body, headers=owner.headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM shared_links") == 0


async def test_expiry_defaults_to_seven_days(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner))
    seconds = await db.fetchval(
        "SELECT extract(epoch FROM expires_at - created_at) FROM shared_links WHERE id = $1::uuid", link["id"]
    )
    assert round(seconds) == 7 * 24 * 3600


async def test_links_of_a_suspended_owner_are_gone(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner))
    await db.execute("UPDATE users SET status = 'suspended' WHERE id = $1::uuid", owner.id)
    assert (await client.get(f"/shared/{link['token']}")).status_code == 410
    assert await db.fetchval("SELECT view_count FROM shared_links WHERE id = $1::uuid", link["id"]) == 0
