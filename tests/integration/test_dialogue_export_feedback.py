"""Dialogue: export (Markdown and JSON, recent and archived), message versions, feedback."""

from __future__ import annotations

import asyncpg

from tests.factories import create_user
from tests.integration.conversations_support import create_conversation


async def _dialogue(db: asyncpg.Connection, user_id: str, conversation_id: str, count: int, recent: int = 50) -> None:
    """`count` alternating messages; all but the last `recent` in the archive, as the flow leaves them."""
    archived = max(count - recent, 0)
    for table, seqs in (
        ("archived_messages", range(1, archived + 1)),
        ("recent_messages", range(archived + 1, count + 1)),
    ):
        await db.executemany(
            f"""INSERT INTO {table} (conversation_id, seq, user_id, role, content, created_at)
                VALUES ($1::uuid, $2, $3::uuid, $4, $5, now() - make_interval(secs => 1000 - $2))""",
            [
                (conversation_id, seq, user_id, "user" if seq % 2 else "assistant", f"message number {seq}")
                for seq in seqs
            ],
        )
    await db.execute(
        "UPDATE conversations SET message_count = $2, archived_count = $3 WHERE id = $1::uuid",
        conversation_id,
        count,
        archived,
    )


async def test_export_of_120_messages_in_markdown_holds_every_message_once_in_order(client, db, settings):
    user = await create_user(db, settings)
    conversation = await create_conversation(db, user.id, title="Justice: what is it? / ünïcode")
    await _dialogue(db, user.id, conversation, 120)

    response = await client.get(f"/conversations/{conversation}/export?format=markdown", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.headers["content-disposition"] == 'attachment; filename="Justice-what-is-it-unicode.md"'
    text = response.text
    positions = [text.index(f"message number {seq}\n") for seq in range(1, 121)]
    assert positions == sorted(positions)
    assert all(text.count(f"message number {seq}\n") == 1 for seq in range(1, 121))

    as_json = await client.get(f"/conversations/{conversation}/export?format=json", headers=user.headers)
    assert as_json.status_code == 200
    body = as_json.json()
    assert [m["seq"] for m in body["messages"]] == list(range(1, 121))
    assert body["title"] == "Justice: what is it? / ünïcode"
    assert as_json.headers["content-disposition"].endswith('.json"')


async def test_export_is_404_for_another_users_conversation_and_422_for_an_unknown_format(client, db, settings):
    owner, other = await create_user(db, settings), await create_user(db, settings)
    conversation = await create_conversation(db, owner.id)
    assert (await client.get(f"/conversations/{conversation}/export", headers=other.headers)).status_code == 404
    bad = await client.get(f"/conversations/{conversation}/export?format=pdf", headers=owner.headers)
    assert bad.status_code == 400 or bad.status_code == 422
    assert "format" in bad.text


async def test_feedback_on_replies_only_one_per_user_and_version(client, db, settings):
    user, other = await create_user(db, settings), await create_user(db, settings)
    conversation = await create_conversation(db, user.id)
    await _dialogue(db, user.id, conversation, 4)
    url = f"/conversations/{conversation}/messages/2/feedback"

    first = await client.put(url, json={"value": 1, "comment": "made me think"}, headers=user.headers)
    assert first.status_code == 200, first.text
    assert (first.json()["value"], first.json()["version"]) == (1, 1)
    changed = await client.put(url, json={"value": -1}, headers=user.headers)
    assert (changed.json()["value"], changed.json()["comment"]) == (-1, None)
    assert await db.fetchval("SELECT count(*) FROM message_feedback") == 1

    own = await client.put(
        f"/conversations/{conversation}/messages/1/feedback", json={"value": 1}, headers=user.headers
    )
    assert own.status_code == 422 and own.json()["field"] == "seq"
    for body in ({"value": 0}, {"value": 2}, {"value": 1, "comment": "x" * 2001}, {"value": 1, "user_id": user.id}):
        bad = await client.put(url, json=body, headers=user.headers)
        assert bad.status_code == 422, (body, bad.text)
    assert (await client.put(url, json={"value": 1}, headers=other.headers)).status_code == 404
    missing = await client.put(
        f"/conversations/{conversation}/messages/99/feedback", json={"value": 1}, headers=user.headers
    )
    assert missing.status_code == 404

    assert (await client.delete(url, headers=user.headers)).status_code == 204
    assert (await client.delete(url, headers=user.headers)).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM message_feedback") == 0


async def test_versions_list_the_current_message_when_none_was_replaced(client, db, settings):
    user = await create_user(db, settings)
    conversation = await create_conversation(db, user.id)
    await _dialogue(db, user.id, conversation, 2)
    response = await client.get(f"/conversations/{conversation}/messages/2/versions", headers=user.headers)
    assert response.status_code == 200, response.text
    assert [(v["version"], v["content"]) for v in response.json()["items"]] == [(1, "message number 2")]
    assert (
        await client.get(f"/conversations/{conversation}/messages/3/versions", headers=user.headers)
    ).status_code == 404
