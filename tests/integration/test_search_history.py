"""GET /conversations/{id}/messages: keyset pages by seq over recent and archived
messages, across month partitions, touching only the partitions a page needs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from core.database.queries import QUERIES
from tests.factories import create_user

RECENT = 50


async def _conversation(db: asyncpg.Connection, user_id: str, total: int, archive_start: datetime) -> uuid.UUID:
    """A conversation of `total` messages: all but the last 50 archived, one message per
    hour from `archive_start` (so they spread over several monthly partitions)."""
    archived = max(0, total - RECENT)
    conversation_id = await db.fetchval(
        "INSERT INTO conversations (user_id, message_count, archived_count) VALUES ($1::uuid, $2, $3) RETURNING id",
        user_id,
        total,
        archived,
    )
    months = (archived // (24 * 28)) + 2
    await db.execute("SELECT mukti_ensure_partitions_v1('archived_messages', 'month', $1, $2)", archive_start, months)
    await db.execute(
        """INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)
           SELECT $1, s, $2::uuid, CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
                  'message number ' || s, $3::timestamptz + s * interval '1 hour'
             FROM generate_series(1, $4::integer) s""",
        conversation_id,
        user_id,
        archive_start,
        archived,
    )
    await db.execute(
        """INSERT INTO recent_messages (conversation_id, seq, user_id, role, content, created_at)
           SELECT $1, s, $2::uuid, CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
                  'message number ' || s, now() - ($4::integer - s) * interval '1 minute'
             FROM generate_series($3::integer, $4::integer) s""",
        conversation_id,
        user_id,
        archived + 1,
        total,
    )
    return conversation_id


async def test_every_seq_once_in_order_across_the_archive_boundary_and_partitions(db, client, settings):
    user = await create_user(db, settings)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    conversation_id = await _conversation(db, user.id, 3210, start)
    partitions = await db.fetchval(
        "SELECT count(DISTINCT tableoid) FROM archived_messages WHERE conversation_id = $1", conversation_id
    )
    assert partitions >= 5

    seen: list[int] = []
    pages = 0
    cursor = None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"/conversations/{conversation_id}/messages", params=params, headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        page = [item["seq"] for item in body["items"]]
        assert page == sorted(page)
        assert all(item["content"] == f"message number {item['seq']}" for item in body["items"])
        seen = page + seen
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 3211))
    assert pages == 33  # 32 full pages and the first 10 messages


async def test_before_is_exclusive_and_pages_span_the_boundary(db, client, settings):
    user = await create_user(db, settings)
    conversation_id = await _conversation(db, user.id, 120, datetime.now(UTC) - timedelta(days=40))
    url = f"/conversations/{conversation_id}/messages"

    newest = (await client.get(url, headers=user.headers)).json()
    assert [m["seq"] for m in newest["items"]] == list(range(101, 121))  # default limit 20

    across = (await client.get(url, params={"before": 76, "limit": 10}, headers=user.headers)).json()
    assert [m["seq"] for m in across["items"]] == list(range(66, 76))  # 70 is the last archived one
    following = (
        await client.get(url, params={"cursor": across["next_cursor"], "limit": 10}, headers=user.headers)
    ).json()
    assert [m["seq"] for m in following["items"]] == list(range(56, 66))

    first = (await client.get(url, params={"before": 3}, headers=user.headers)).json()
    assert [m["seq"] for m in first["items"]] == [1, 2] and first["next_cursor"] is None
    assert first["items"][0]["created_at"].endswith("Z")
    assert (await client.get(url, params={"before": 1}, headers=user.headers)).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_someone_elses_or_unknown_conversation_is_404(db, client, settings):
    owner = await create_user(db, settings)
    other = await create_user(db, settings)
    conversation_id = await _conversation(db, owner.id, 10, datetime.now(UTC))
    for url in (f"/conversations/{conversation_id}/messages", f"/conversations/{uuid.uuid4()}/messages"):
        response = await client.get(url, headers=other.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


async def test_bad_paging_input_is_422(db, client, settings):
    user = await create_user(db, settings)
    conversation_id = await _conversation(db, user.id, 5, datetime.now(UTC))
    url = f"/conversations/{conversation_id}/messages"
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"before": 0}, "before"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ):
        response = await client.get(url, params=params, headers=user.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["field"] == field


def _executed_partitions(plan: dict) -> set[str]:
    found = set()
    if plan.get("Relation Name", "").startswith("archived_messages") and plan.get("Actual Loops", 0) > 0:
        found.add(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found |= _executed_partitions(child)
    return found


async def test_a_page_reads_only_the_partitions_that_hold_it(db, settings):
    user = await create_user(db, settings)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    conversation_id = await _conversation(db, user.id, 24 * 31 * 10, start)  # ten months of archive
    query = QUERIES["search_history_page"]
    explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + query.sql

    async def scanned(low: int, high: int) -> set[str]:
        args = query.args({"conversation_id": conversation_id, "low_seq": low, "high_seq": high})
        plan = json.loads(await db.fetchval(explain, *args))[0]["Plan"]
        return _executed_partitions(plan)

    assert await scanned(1, 100) == {"archived_messages_p202401"}
    # Seqs 740..760 are the hours around 1 February.
    assert await scanned(730, 760) == {"archived_messages_p202401", "archived_messages_p202402"}
    newest = 24 * 31 * 10
    assert await scanned(newest - 19, newest) == set()  # all recent: no partition at all


async def test_history_and_asking_share_the_path(db, client, settings):
    """GET (the history) and POST (asking) are one path, both of the conversations feature."""
    user = await create_user(db, settings)
    conversation_id = await _conversation(db, user.id, 3, datetime.now(UTC))
    url = f"/conversations/{conversation_id}/messages"
    assert (await client.get(url, headers=user.headers)).status_code == 200
    response = await client.post(url, json={"content": ""}, headers=user.headers)
    assert response.status_code == 422, response.text  # the asking route's own validation, not 405
