"""Conversations: create (default technique), list with cursors, get, patch, delete."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.factories import create_user
from tests.integration.conversations_support import create_conversation


async def _technique(db, *, user_id=None, builtin=False, default=False, status="approved", latest=1, approved=1) -> str:
    return await db.fetchval(
        """
        INSERT INTO techniques (user_id, name, is_builtin, is_default, status, latest_version, approved_version)
        VALUES ($1::uuid, 'Maieutics', $2, $3, $4, $5, $6) RETURNING id::text""",
        user_id,
        builtin,
        default,
        status,
        latest,
        approved,
    )


async def test_create_uses_the_default_technique_when_none_is_given(client, db, settings):
    user = await create_user(db, settings)
    # Built-ins are seeded by a later migration; start from a database without a default.
    await db.execute("UPDATE techniques SET is_default = false WHERE is_default")

    first = await client.post("/conversations", json={}, headers=user.headers)
    assert first.status_code == 201, first.text
    assert (first.json()["technique_id"], first.json()["title"]) == (None, "New conversation")

    default = await _technique(db, builtin=True, default=True, latest=3, approved=2)
    second = await client.post("/conversations", json={"title": "Justice"}, headers=user.headers)
    assert (second.json()["technique_id"], second.json()["technique_version"]) == (default, 2)
    assert second.json()["message_count"] == 0


async def test_a_given_technique_must_be_visible(client, db, settings):
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    own_pending = await _technique(db, user_id=user.id, status="pending", latest=2, approved=None)
    foreign_pending = await _technique(db, user_id=other.id, status="pending", approved=None)

    own = await client.post("/conversations", json={"technique_id": own_pending}, headers=user.headers)
    assert (own.json()["technique_id"], own.json()["technique_version"]) == (own_pending, 2)
    for technique_id in (foreign_pending, "not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        response = await client.post("/conversations", json={"technique_id": technique_id}, headers=user.headers)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "technique_id"
    assert await db.fetchval("SELECT count(*) FROM conversations") == 1


@pytest.mark.parametrize(
    "body",
    [{"user_id": "00000000-0000-4000-8000-000000000000"}, {"message_count": 5}, {"title": ""}, {"title": "x" * 201}],
)
async def test_create_rejects_owner_counters_and_bad_titles(client, db, settings, body):
    user = await create_user(db, settings)
    assert (await client.post("/conversations", json=body, headers=user.headers)).status_code == 422
    assert await db.fetchval("SELECT count(*) FROM conversations") == 0


async def test_list_is_most_recently_active_first_with_cursor_paging(client, db, settings):
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    await create_conversation(db, other.id)
    ids = [await create_conversation(db, user.id, f"c{i}") for i in range(5)]
    await db.execute(
        "UPDATE conversations SET last_activity_at = now() - (ord * interval '1 minute') "
        "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, ord) WHERE conversations.id = u.id",
        ids,
    )

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/conversations", params=params, headers=user.headers)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert (await client.get("/conversations", params={"limit": 101}, headers=user.headers)).status_code in (400, 422)
    assert (await client.get("/conversations", params={"cursor": "garbage"}, headers=user.headers)).status_code == 422


async def test_get_patch_and_delete_are_the_owners_alone(client, db, settings):
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    technique = await _technique(db, builtin=True)
    await client.post(
        f"/conversations/{conversation_id}/messages", json={"content": "What is virtue?"}, headers=user.headers
    )

    for method, kwargs in (("get", {}), ("patch", {"json": {"title": "Mine"}}), ("delete", {})):
        response = await getattr(client, method)(f"/conversations/{conversation_id}", headers=other.headers, **kwargs)
        assert response.status_code == 404, (method, response.text)

    detail = (await client.get(f"/conversations/{conversation_id}", headers=user.headers)).json()
    assert detail["message_count"] == 1
    assert [(m["seq"], m["role"], m["content"]) for m in detail["recent_messages"]] == [(1, "user", "What is virtue?")]
    assert detail["recent_messages"][0]["created_at"].endswith("Z")

    patched = await client.patch(
        f"/conversations/{conversation_id}", json={"title": "Virtue", "technique_id": technique}, headers=user.headers
    )
    assert (patched.json()["title"], patched.json()["technique_id"]) == ("Virtue", technique)
    kept = await client.patch(f"/conversations/{conversation_id}", json={}, headers=user.headers)
    assert (kept.json()["title"], kept.json()["technique_id"]) == ("Virtue", technique)
    cleared = await client.patch(f"/conversations/{conversation_id}", json={"technique_id": None}, headers=user.headers)
    assert cleared.json()["technique_id"] is None
    assert (
        await client.patch(f"/conversations/{conversation_id}", json={"message_count": 0}, headers=user.headers)
    ).status_code == 422

    assert (await client.delete(f"/conversations/{conversation_id}", headers=user.headers)).status_code == 204
    assert (await client.get(f"/conversations/{conversation_id}", headers=user.headers)).status_code == 404
    # The pending question went with it, its job included.
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs") == 0
    assert await db.fetchval("SELECT count(*) FROM request_queue") == 0


async def _waiting_for_a_lock(db) -> None:
    """Until another session of this database waits for a row lock (no event to await)."""
    while not await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    ):
        await asyncio.sleep(0.01)


async def test_deleting_a_conversation_takes_locks_in_the_order_storing_a_reply_does(
    client, db, database_url, settings
):
    """Storing a reply locks subscription, conversation, then the request; a delete racing
    it must not hold the request while waiting for the conversation (that deadlocked)."""
    user = await create_user(db, settings, plan="paid")
    conversation = (await client.post("/conversations", json={}, headers=user.headers)).json()
    asked = await client.post(
        f"/conversations/{conversation['id']}/messages", json={"content": "why?"}, headers=user.headers
    )
    request_id = asked.json()["request_id"]

    replier = await asyncpg.connect(database_url)
    try:
        tx = replier.transaction()
        await tx.start()
        await replier.execute("SELECT 1 FROM subscriptions WHERE user_id = $1::uuid FOR UPDATE", user.id)
        await replier.execute("SELECT 1 FROM conversations WHERE id = $1::uuid FOR UPDATE", conversation["id"])
        deleting = asyncio.create_task(client.delete(f"/conversations/{conversation['id']}", headers=user.headers))
        await _waiting_for_a_lock(db)
        await replier.execute("SET LOCAL lock_timeout = '5s'")
        await replier.execute("SELECT 1 FROM request_queue WHERE id = $1::uuid FOR UPDATE", request_id)
        await tx.commit()
        assert (await deleting).status_code == 204
    finally:
        await replier.close()
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE id = $1::uuid", conversation["id"]) == 0


async def test_a_question_committed_while_its_conversation_is_deleted_leaves_no_job_behind(
    client, db, database_url, settings
):
    user = await create_user(db, settings, plan="paid")
    conversation = (await client.post("/conversations", json={}, headers=user.headers)).json()
    asker = await asyncpg.connect(database_url)
    try:
        tx = asker.transaction()
        await tx.start()
        row = await asker.fetchrow(
            "SELECT * FROM mukti_submit_question_v2($1::uuid, $2::uuid, 'why?', 0, 0)", user.id, conversation["id"]
        )
        assert row["outcome"] == "accepted"
        deleting = asyncio.create_task(client.delete(f"/conversations/{conversation['id']}", headers=user.headers))
        await _waiting_for_a_lock(db)  # the delete waits for the conversation the question holds
        await tx.commit()
        assert (await deleting).status_code == 204
    finally:
        await asker.close()
    orphans = await db.fetchval("""
        SELECT count(*) FROM procrastinate_jobs j
         WHERE j.task_name = 'answer_question'
           AND NOT EXISTS (SELECT 1 FROM request_queue r WHERE r.job_id = j.id)""")
    assert orphans == 0
