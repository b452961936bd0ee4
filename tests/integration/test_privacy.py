"""Privacy (issue 14): Row-Level Security on every table with a user_id, erasure and
export, each checked against the catalog so that a new table cannot be forgotten.

An account is given rows in every table with a user_id, through the API where there is
a route and by SQL where the worker would write them; each piece of text it writes
carries a marker. The checks enumerate the tables from pg_catalog, never from a list.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg

from api.accounts.service import EXPORT_COVERAGE
from tests.factories import create_user
from tests.integration.accounts_support import bearer, register

# Tables whose rows of an erased account stay: anonymous numbers under its opaque id
# (billing and the monthly report), and the billing events' ids (replay protection).
KEPT_AFTER_ERASURE = {"daily_usage_aggregates", "usage_events", "subscriptions", "billing_events"}

USER_TABLES = """
SELECT c.relname::text AS name, c.relispartition AS partition, c.relrowsecurity AS rls,
       (SELECT array_agg(p.polname::text ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
 ORDER BY 1
"""

# Every text-like column of every table, all schemas but the system's.
TEXT_COLUMNS = """
SELECT format('%I.%I', n.nspname, c.relname) AS rel, a.attname::text AS col
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm') AND a.attnum > 0 AND NOT a.attisdropped
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'jsonb'::regtype, 'json'::regtype, 'bpchar'::regtype)
"""


async def user_tables(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return await db.fetch(USER_TABLES)


async def tables_holding(db: asyncpg.Connection, marker: str) -> set[str]:
    found = set()
    for row in await db.fetch(TEXT_COLUMNS):
        hit = await db.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {row['rel']} WHERE {row['col']}::text LIKE $1)", f"%{marker}%"
        )
        if hit:
            found.add(row["rel"].split(".", 1)[1])
    return found


async def populate(client, db: asyncpg.Connection, marker: str) -> dict:
    """An account with rows in every table with a user_id; its text carries `marker`."""
    registered = await register(client, display_name=f"Ann {marker}")
    user_id = registered["user"]["id"]
    headers = bearer(registered["access_token"])

    conversation = (await client.post("/conversations", json={"title": f"Title {marker}"}, headers=headers)).json()
    asked = await client.post(
        f"/conversations/{conversation['id']}/messages",
        json={"content": f"my address is 12 Elm Street {marker}"},
        headers=headers,
    )
    assert asked.status_code == 202, asked.text
    share = await client.post(f"/conversations/{conversation['id']}/shares", json={}, headers=headers)
    assert share.status_code == 201, share.text
    viewed = await client.get(f"/shared/{share.json()['token']}")
    assert viewed.status_code == 200, viewed.text

    pending = await client.post(
        "/techniques",
        headers=headers,
        json={"name": f"Pending {marker}", "description": f"about {marker}", "system_prompt": f"Ask {marker}"},
    )
    assert pending.status_code == 201, pending.text
    community = await client.post(
        "/techniques",
        headers=headers,
        json={"name": f"Community {uuid.uuid4().hex[:6]}", "description": "kept", "system_prompt": "Ask why."},
    )
    await db.execute(
        "UPDATE techniques SET status = 'approved', approved_version = 1 WHERE id = $1::uuid", community.json()["id"]
    )
    await db.execute(
        "UPDATE technique_versions SET status = 'approved' WHERE technique_id = $1::uuid", community.json()["id"]
    )
    resource = await client.post(
        "/resources",
        headers=headers,
        json={"title": f"Read {marker}", "url": "https://example.org/x", "description": marker, "kind": "article"},
    )
    assert resource.status_code == 201, resource.text
    builtin = await db.fetchval("SELECT id::text FROM techniques WHERE is_builtin ORDER BY id LIMIT 1")
    voted = await client.put(f"/techniques/{builtin}/vote", json={"value": 1}, headers=headers)
    assert voted.status_code == 200, voted.text

    # What the worker, the question flow and billing would write.
    await db.execute(
        """
        INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)
        VALUES ($1::uuid, 1000, $2::uuid, 'assistant', $3, now())""",
        conversation["id"],
        user_id,
        f"archived reply {marker}",
    )
    # A regenerated reply's earlier version, and feedback on the reply (the dialogue's tables).
    await db.execute(
        """
        INSERT INTO message_versions (conversation_id, seq, version, user_id, role, content, created_at)
        VALUES ($1::uuid, 1000, 1, $2::uuid, 'assistant', $3, now())""",
        conversation["id"],
        user_id,
        f"earlier reply {marker}",
    )
    await db.execute(
        """
        INSERT INTO message_feedback (conversation_id, seq, version, user_id, value, comment)
        VALUES ($1::uuid, 1000, 2, $2::uuid, 1, $3)""",
        conversation["id"],
        user_id,
        f"helpful {marker}",
    )
    await db.execute(
        "INSERT INTO notifications (user_id, kind, title, body) VALUES ($1::uuid, 'limit', $2, $2)",
        user_id,
        f"note {marker}",
    )
    await db.execute(
        """
        INSERT INTO webhook_deliveries (id, user_id, event, url, payload)
        VALUES (gen_random_uuid(), $1::uuid, 'request.failed', 'https://example.org/hook', $2::jsonb)""",
        user_id,
        json.dumps({"text": marker}),
    )
    await db.execute(
        """
        INSERT INTO usage_events (user_id, model, prompt_tokens, completion_tokens, cost)
        VALUES ($1::uuid, 'stub', 10, 20, 0.5)""",
        user_id,
    )
    await db.execute(
        """
        INSERT INTO request_stream_chunks (request_id, attempt, start_offset, user_id, content)
        SELECT q.id, 1, 0, q.user_id, $2 FROM request_queue q WHERE q.user_id = $1::uuid LIMIT 1""",
        user_id,
        f"a reply being generated {marker}",
    )
    await db.execute(
        """
        INSERT INTO daily_usage_aggregates (user_id, day, model, questions, prompt_tokens, completion_tokens, cost)
        VALUES ($1::uuid, current_date, 'stub', 3, 30, 60, 1.25)""",
        user_id,
    )
    await db.execute(
        """
        INSERT INTO billing_events (event_id, event_type, user_id, plan_id, payload)
        VALUES ($1, 'subscription.updated', $2::uuid, 'free', $3::jsonb)""",
        f"evt-{uuid.uuid4().hex}",
        user_id,
        json.dumps({"customer_name": marker}),
    )
    return {
        "user_id": user_id,
        "headers": headers,
        "marker": marker,
        "community": community.json()["id"],
        "pending": pending.json()["id"],
        "builtin": builtin,
    }


async def as_app(db: asyncpg.Connection, user_id: str | None = None) -> asyncpg.transaction.Transaction:
    """A transaction of the app role, with `user_id` set the way core/database/scope.py does."""
    tx = db.transaction()
    await tx.start()
    await db.execute("SET LOCAL ROLE mukti_app")
    if user_id is not None:
        await db.execute("SELECT set_config('mukti.user_id', $1, true)", user_id)
    return tx


async def test_every_user_table_and_partition_has_row_level_security(db: asyncpg.Connection):
    tables = await user_tables(db)
    assert {"recent_messages", "archived_messages", "usage_events"} <= {t["name"] for t in tables}
    assert any(t["partition"] for t in tables)
    for table in tables:
        assert table["rls"], f"{table['name']} has no row-level security"
        assert {"owner_rows", "service_all"} <= set(table["policies"] or []), table["name"]


async def test_partitions_created_by_maintenance_are_protected(db: asyncpg.Connection):
    await db.execute("SELECT mukti_ensure_partitions_v1('usage_events', 'day', now() + interval '60 days', 2)")
    await db.execute("SELECT mukti_protect_user_tables_v1()")
    unprotected = [t["name"] for t in await user_tables(db) if not t["rls"]]
    assert unprotected == []


async def test_the_app_role_sees_no_user_row_without_a_user(client, db: asyncpg.Connection):
    await populate(client, db, "mk-" + uuid.uuid4().hex)
    tables = await user_tables(db)
    populated = [
        t["name"] for t in tables if await db.fetchval(f'SELECT count(*) FROM "{t["name"]}" WHERE user_id IS NOT NULL')
    ]
    assert len(populated) >= 15, populated
    tx = await as_app(db)
    try:
        visible = {
            name: await db.fetchval(f'SELECT count(*) FROM "{name}" WHERE user_id IS NOT NULL') for name in populated
        }
    finally:
        await tx.rollback()
    # The one exception is by design: approved community techniques are everyone's.
    approved = {"techniques": 1, "technique_versions": 1}
    assert {k: v for k, v in visible.items() if v} == approved


async def test_with_user_a_set_the_rows_of_b_are_invisible_even_without_where(client, db: asyncpg.Connection):
    a = await populate(client, db, "mk-" + uuid.uuid4().hex)
    b = await populate(client, db, "mk-" + uuid.uuid4().hex)
    tables = [t["name"] for t in await user_tables(db)]
    tx = await as_app(db, a["user_id"])
    try:
        owners = {name: {str(r["user_id"]) for r in await db.fetch(f'SELECT user_id FROM "{name}"')} for name in tables}
        # Writing B's rows is refused too (the policy's WITH CHECK), and updating them finds nothing.
        hidden = await db.execute("UPDATE conversations SET title = 'x' WHERE user_id = $1::uuid", b["user_id"])
    finally:
        await tx.rollback()
    assert hidden == "UPDATE 0"
    community = {"techniques", "technique_versions"}
    assert [name for name, users in owners.items() if b["user_id"] in users and name not in community] == []
    assert a["user_id"] in owners["conversations"] and a["user_id"] in owners["recent_messages"]
    assert a["user_id"] in owners["archived_messages"] and a["user_id"] in owners["usage_events"]
    # B's approved community technique is the one row of B's that A may read, authored.
    assert owners["techniques"] - {a["user_id"], "None"} == {b["user_id"]}


async def test_export_covers_every_table_with_a_user_id(client, db: asyncpg.Connection):
    marker = "mk-" + uuid.uuid4().hex
    account = await populate(client, db, marker)
    parents = {t["name"] for t in await user_tables(db) if not t["partition"]}
    assert parents == set(EXPORT_COVERAGE), "declare each table with a user_id in EXPORT_COVERAGE"

    export = (await client.get("/me/export", headers=account["headers"])).json()
    for table, section in EXPORT_COVERAGE.items():
        has_rows = await db.fetchval(f'SELECT count(*) FROM "{table}" WHERE user_id = $1::uuid', account["user_id"])
        assert has_rows, f"arrange: the account has no row in {table}"
        if section is not None:
            assert export[section], f"{table}: section {section!r} of the export is empty"
    dumped = json.dumps(export)
    assert f"my address is 12 Elm Street {marker}" in dumped and f"archived reply {marker}" in dumped
    assert "password_hash" not in dumped and "token_hash" not in dumped


async def test_erasure_leaves_no_text_and_the_monthly_report_unchanged(client, db: asyncpg.Connection, settings):
    marker = "mk-" + uuid.uuid4().hex
    account = await populate(client, db, marker)
    other = await populate(client, db, "mk-" + uuid.uuid4().hex)
    admin = await create_user(db, settings, role="admin")
    month = dt.date.today().strftime("%Y-%m")

    async def report() -> list[dict]:
        response = await client.get(f"/admin/reports/monthly?month={month}&limit=100", headers=admin.headers)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    before = await report()
    assert {row["user_id"] for row in before} >= {account["user_id"], other["user_id"]}
    holding = await tables_holding(db, marker)
    assert {
        "users",
        "conversations",
        "recent_messages",
        "techniques",
        "technique_versions",
        "resources",
        "notifications",
        "webhook_deliveries",
        "billing_events",
    } <= holding
    assert any(name.startswith("archived_messages") for name in holding)
    in_queue = await client.get("/moderation/queue", headers=admin.headers)
    assert account["pending"] in {item["id"] for item in in_queue.json()["items"]}
    votes_before = await db.fetchval("SELECT upvotes FROM techniques WHERE id = $1::uuid", account["builtin"])

    response = await client.delete("/me", headers=account["headers"])
    assert response.status_code == 204
    # At once: the account's token stops working and its share is gone.
    assert (await client.get("/me", headers=account["headers"])).status_code == 401

    assert await tables_holding(db, marker) == set()
    for table in await user_tables(db):
        if table["partition"] or table["name"] in KEPT_AFTER_ERASURE:
            continue
        left = await db.fetchval(f'SELECT count(*) FROM "{table["name"]}" WHERE user_id = $1::uuid', account["user_id"])
        assert left == 0, f"{table['name']} keeps {left} rows of the erased account"
    # The approved community technique stays, authorless; the pending one left the queue.
    assert await db.fetchval("SELECT user_id FROM techniques WHERE id = $1::uuid", account["community"]) is None
    in_queue = await client.get("/moderation/queue", headers=admin.headers)
    assert account["pending"] not in {item["id"] for item in in_queue.json()["items"]}
    # Votes are gone and the counters follow them.
    assert (
        await db.fetchval("SELECT upvotes FROM techniques WHERE id = $1::uuid", account["builtin"]) == votes_before - 1
    )
    assert await report() == before
    # The other account is untouched.
    assert "conversations" in await tables_holding(db, other["marker"])

    # Idempotent: a second run (as maintenance would) finds nothing left.
    async with db.transaction():
        await db.execute("SET LOCAL ROLE mukti_service")
        again = json.loads(await db.fetchval("SELECT mukti_erase_user_v1($1::uuid)::text", account["user_id"]))
    assert not any(v for v in again.values()), again


async def test_erasure_refuses_another_users_account(db: asyncpg.Connection, settings):
    a = await create_user(db, settings)
    b = await create_user(db, settings)
    tx = await as_app(db, a.id)
    try:
        try:
            await db.execute("SELECT mukti_erase_user_v1($1::uuid)", b.id)
        except asyncpg.InsufficientPrivilegeError:
            pass
        else:
            raise AssertionError("erasing another user's account was allowed")
    finally:
        await tx.rollback()
    assert await db.fetchval("SELECT status FROM users WHERE id = $1::uuid", b.id) == "active"
