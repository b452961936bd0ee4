"""/me: profile, changes, deletion, export, subscription and notifications."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from tests.factories import create_user
from tests.integration.accounts_support import PASSWORD, bearer, new_email, register

_USER_ROW = "SELECT to_jsonb(u) - 'updated_at' FROM users u WHERE id = $1::uuid"


async def test_get_me(client, db, settings):
    user = await create_user(db, settings, preferences={"language": "fr"})
    body = (await client.get("/me", headers=user.headers)).json()
    assert body["id"] == user.id and body["email"] == user.email and body["role"] == "user"
    assert body["status"] == "active" and body["preferences"] == {"language": "fr"}
    assert body["created_at"].endswith("Z")


async def test_patch_me_changes_only_the_fields_sent(client, db, settings):
    user = await create_user(db, settings, preferences={"language": "fr"})
    r = await client.patch("/me", headers=user.headers, json={"display_name": "Socrates"})
    assert r.status_code == 200 and r.json()["display_name"] == "Socrates"
    assert r.json()["preferences"] == {"language": "fr"}
    r = await client.patch(
        "/me", headers=user.headers, json={"preferences": {"language": "de"}, "webhook_url": "https://example.org/hook"}
    )
    assert r.json()["preferences"] == {"language": "de"} and r.json()["webhook_url"] == "https://example.org/hook"
    assert r.json()["display_name"] == "Socrates"
    r = await client.patch("/me", headers=user.headers, json={"webhook_url": None, "display_name": None})
    assert r.json()["webhook_url"] is None and r.json()["display_name"] is None


async def test_patch_me_with_role_or_plan_is_422_and_changes_nothing(client, db, settings):
    user = await create_user(db, settings)
    before = await db.fetchval(_USER_ROW, user.id)
    for body in (
        {"role": "admin"},
        {"plan": "paid"},
        {"display_name": "Mallory", "role": "admin"},
        {"display_name": "Mallory", "plan_id": "paid"},
        {"status": "active"},
    ):
        r = await client.patch("/me", headers=user.headers, json=body)
        assert r.status_code == 422, body
        assert r.json()["code"] == "validation_failed"
    assert await db.fetchval(_USER_ROW, user.id) == before
    assert await db.fetchval("SELECT plan_id FROM subscriptions WHERE user_id = $1::uuid", user.id) == "free"


async def test_patch_me_validates_webhook_url_and_sizes(client, db, settings):
    user = await create_user(db, settings)
    for url in ("ftp://example.org/x", "not a url", "https://", "javascript:alert(1)"):
        r = await client.patch("/me", headers=user.headers, json={"webhook_url": url})
        assert r.status_code == 422 and r.json()["field"] == "webhook_url", url
    r = await client.patch("/me", headers=user.headers, json={"display_name": "x" * 101})
    assert r.status_code == 422 and r.json()["field"] == "display_name"
    r = await client.patch("/me", headers=user.headers, json={"preferences": {"blob": "x" * 20000}})
    assert r.status_code == 422 and r.json()["field"] == "preferences"


async def test_delete_me_anonymizes_and_cuts_off_login_and_tokens(client, db):
    email = new_email()
    tokens = await register(client, email, display_name="Gone Soon")
    user_id = tokens["user"]["id"]
    headers = bearer(tokens["access_token"])
    await client.patch("/me", headers=headers, json={"preferences": {"a": 1}, "webhook_url": "https://example.org/h"})

    assert (await client.delete("/me", headers=headers)).status_code == 204

    row = await db.fetchrow("SELECT * FROM users WHERE id = $1::uuid", user_id)
    assert row["email"] == f"deleted-{user_id}@invalid" and row["status"] == "deleted"
    assert row["display_name"] is None and row["password_hash"] is None and row["webhook_url"] is None
    assert json.loads(row["preferences"]) == {} and row["deleted_at"] is not None
    assert (await client.get("/me", headers=headers)).status_code == 401
    assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    # The email is free again.
    assert (await client.post("/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201


async def test_subscription_of_a_new_user(client):
    tokens = await register(client)
    body = (await client.get("/me/subscription", headers=bearer(tokens["access_token"]))).json()
    assert body["plan"] == "free" and body["status"] == "active"
    # Monthly limits (API.md "Dialogue"): null = unlimited.
    assert body["limits"] == {"per_hour": 10, "per_day": 50, "per_month": None, "tokens_per_month": None}
    assert body["usage"] == {
        "this_hour": 0,
        "today": 0,
        "tokens_today": 0,
        "cost_today": "0.000000",
        "this_month": 0,
        "tokens_this_month": 0,
    }
    assert body["blocked_until"] is None
    now = datetime.now(UTC)
    hour = datetime.fromisoformat(body["resets"]["hour"])
    day = datetime.fromisoformat(body["resets"]["day"])
    assert now < hour <= now + timedelta(hours=1) and now < day <= now + timedelta(days=1)


async def test_subscription_counts_only_the_current_windows(client, db, settings):
    user = await create_user(db, settings, plan="paid")
    await db.execute(
        """UPDATE subscriptions SET hour_window_start = date_trunc('hour', now()), questions_this_hour = 3,
                               day_window_start = date_trunc('day', now()), questions_today = 7,
                               tokens_today = 1234, cost_today = 0.5, blocked_until = now() + interval '10 minutes',
                               month_window_start = date_trunc('month', now(), 'UTC'), questions_this_month = 9,
                               tokens_this_month = 4321
                         WHERE user_id = $1::uuid""",
        user.id,
    )
    body = (await client.get("/me/subscription", headers=user.headers)).json()
    assert body["plan"] == "paid"
    assert body["limits"] == {"per_hour": 100, "per_day": 500, "per_month": None, "tokens_per_month": None}
    assert body["usage"] == {
        "this_hour": 3,
        "today": 7,
        "tokens_today": 1234,
        "cost_today": "0.500000",
        "this_month": 9,
        "tokens_this_month": 4321,
    }
    assert body["blocked_until"] is not None

    # Both windows over, the row not yet touched by a new question: honest zeros.
    await db.execute(
        """UPDATE subscriptions SET hour_window_start = date_trunc('day', now()) - interval '1 day',
                               day_window_start = date_trunc('day', now()) - interval '1 day',
                               month_window_start = date_trunc('month', now(), 'UTC') - interval '1 month',
                               blocked_until = now() - interval '1 minute'
                         WHERE user_id = $1::uuid""",
        user.id,
    )
    body = (await client.get("/me/subscription", headers=user.headers)).json()
    assert body["usage"] == {
        "this_hour": 0,
        "today": 0,
        "tokens_today": 0,
        "cost_today": "0.000000",
        "this_month": 0,
        "tokens_this_month": 0,
    }
    assert body["blocked_until"] is None
    assert datetime.fromisoformat(body["resets"]["hour"]) > datetime.now(UTC)


async def test_notifications_are_paged_newest_first(client, db, settings):
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    for i in range(5):
        await db.execute(
            """INSERT INTO notifications (user_id, kind, title, created_at)
                            VALUES ($1::uuid, 'daily_limit', $2, now() - make_interval(mins => $3))""",
            user.id,
            f"n{i}",
            i,
        )
    await db.execute(
        "INSERT INTO notifications (user_id, kind, title) VALUES ($1::uuid, 'request_failed', 'x')", other.id
    )
    titles, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/me/notifications", headers=user.headers, params=params)).json()
        titles += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert titles == ["n0", "n1", "n2", "n3", "n4"]
    bad = await client.get("/me/notifications", headers=user.headers, params={"cursor": "garbage"})
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    assert (await client.get("/me/notifications", headers=user.headers, params={"limit": 101})).status_code in (
        400,
        422,
    )


async def test_export_holds_everything_about_the_caller_and_no_secrets(client, db, settings):
    tokens = await register(client, display_name="Exporter")
    uid = tokens["user"]["id"]
    headers = bearer(tokens["access_token"])
    conv = await db.fetchval(
        """INSERT INTO conversations (user_id, title, message_count, archived_count)
                                VALUES ($1::uuid, 'Meno', 2, 1) RETURNING id""",
        uuid.UUID(uid),
    )
    await db.execute(
        """INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)
                        VALUES ($1, 1, $2::uuid, 'user', 'What is virtue?', now() - interval '1 hour')""",
        conv,
        uid,
    )
    await db.execute(
        """INSERT INTO recent_messages (conversation_id, seq, user_id, role, content)
                        VALUES ($1, 2, $2::uuid, 'assistant', 'What do you think it is?')""",
        conv,
        uid,
    )
    technique = await db.fetchval(
        """INSERT INTO techniques (user_id, name) VALUES ($1::uuid, 'Elenchus')
                                     RETURNING id""",
        uid,
    )
    await db.execute(
        """INSERT INTO technique_versions (technique_id, version, user_id, name, system_prompt)
                        VALUES ($1, 1, $2::uuid, 'Elenchus', 'Ask, then ask again.')""",
        technique,
        uid,
    )
    await db.execute(
        """INSERT INTO resources (user_id, title, url, kind)
                        VALUES ($1::uuid, 'Meno', 'https://example.org/meno', 'book')""",
        uid,
    )
    await db.execute(
        """INSERT INTO shared_links (user_id, conversation_id, token_hash, password_hash, snapshot_seq,
                                                  expires_at)
                        VALUES ($1::uuid, $2, '\\x0102'::bytea, '$argon2id$fake', 2, now() + interval '1 day')""",
        uid,
        conv,
    )
    await db.execute(
        """INSERT INTO daily_usage_aggregates (user_id, day, model, questions, cost)
                        VALUES ($1::uuid, current_date, 'gpt-4o-mini', 3, 0.25)""",
        uid,
    )
    await db.execute("INSERT INTO notifications (user_id, kind, title) VALUES ($1::uuid, 'daily_limit', 'Hi')", uid)

    r = await client.get("/me/export", headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert body["profile"]["id"] == uid and body["profile"]["display_name"] == "Exporter"
    assert body["subscription"]["plan"] == "free"
    [conversation] = body["conversations"]
    assert [m["content"] for m in conversation["messages"]] == ["What is virtue?", "What do you think it is?"]
    assert body["techniques"][0]["versions"][0]["system_prompt"] == "Ask, then ask again."
    assert body["resources"][0]["title"] == "Meno"
    assert body["shares"][0]["password_protected"] is True
    assert body["usage"][0]["questions"] == 3
    assert body["notifications"][0]["title"] == "Hi"
    assert "password_hash" not in r.text and "token_hash" not in r.text and "$argon2" not in r.text


async def test_a_nul_character_is_bad_input_not_a_server_error(client, db, settings):
    user = await create_user(db, settings)
    r = await client.patch("/me", headers=user.headers, json={"display_name": "So\u0000crates"})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    assert await db.fetchval("SELECT display_name FROM users WHERE id = $1::uuid", user.id) != "So\u0000crates"


async def test_webhook_url_to_a_private_address_is_refused(client, db, settings):
    user = await create_user(db, settings)
    for url in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:5432/", "http://localhost/"):
        r = await client.patch("/me", headers=user.headers, json={"webhook_url": url})
        assert r.status_code == 422 and r.json()["field"] == "webhook_url", url
    assert await db.fetchval("SELECT webhook_url FROM users WHERE id = $1::uuid", user.id) is None
