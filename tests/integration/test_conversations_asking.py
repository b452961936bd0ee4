"""POST /conversations/{id}/messages and GET /queue/{id}: limits, quota, the queue (in-process app)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from core.settings import Settings
from tests.factories import create_user
from tests.integration.conversations_support import (
    CONSISTENCY_VIOLATIONS,
    assert_consistent,
    create_conversation,
    written,
)
from tests.live_app import live_client

NOTHING = {"hits": 0, "messages": 0, "requests": 0, "jobs": 0, "this_hour": 0, "today": 0, "message_count": 0}


@pytest.fixture
async def ask_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the burst limit out of the way, so that the plan's limits are what is tested;
    requests gathered over it run concurrently."""
    async with live_client(dataclasses.replace(settings, burst_limit=10_000)) as client:
        yield client


async def ask(client: httpx.AsyncClient, user, conversation_id: str, content: str = "Why is the sky blue?"):
    return await client.post(
        f"/conversations/{conversation_id}/messages", json={"content": content}, headers=user.headers
    )


async def test_a_question_is_accepted_whole(ask_client, db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)

    response = await ask(ask_client, user, conversation_id)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending" and body["message_seq"] == 1 and body["position"] == 1
    assert response.headers["location"] == f"/queue/{body['request_id']}"
    request = await db.fetchrow("SELECT * FROM request_queue WHERE id = $1::uuid", body["request_id"])
    assert (request["status"], request["priority"], request["plan_id"], request["model"], request["max_attempts"]) == (
        "pending",
        0,
        "free",
        "gpt-4o-mini",
        settings.max_attempts,
    )
    job = await db.fetchrow("SELECT * FROM procrastinate_jobs WHERE id = $1", request["job_id"])
    assert (job["queue_name"], job["task_name"], job["priority"], job["lock"], job["args"]) == (
        "questions",
        "answer_question",
        0,
        conversation_id,
        f'{{"user_id": "{user.id}", "request_id": "{body["request_id"]}"}}',
    )
    message = await db.fetchrow("SELECT * FROM recent_messages WHERE conversation_id = $1::uuid", conversation_id)
    assert (message["seq"], message["role"], message["content"], str(message["request_id"])) == (
        1,
        "user",
        "Why is the sky blue?",
        body["request_id"],
    )
    assert await written(db) == {
        **NOTHING,
        "hits": 1,
        "messages": 1,
        "requests": 1,
        "jobs": 1,
        "this_hour": 1,
        "today": 1,
        "message_count": 1,
    }

    status = await ask_client.get(body["request_id"].join(("/queue/", "")), headers=user.headers)
    assert status.json() == {"request_id": body["request_id"], "status": "pending", "position": 1, "attempts": 0}


async def test_200_concurrent_questions_from_a_free_user_accept_exactly_10(ask_client, db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)

    responses = await asyncio.gather(*(ask(ask_client, user, conversation_id, f"question {i}") for i in range(200)))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {202: 10, 429: 190}, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 429} == {"rate_limited"}
    assert sorted(r.json()["message_seq"] for r in responses if r.status_code == 202) == list(range(1, 11))
    assert await written(db) == {
        **NOTHING,
        "hits": 10,
        "messages": 10,
        "requests": 10,
        "jobs": 10,
        "this_hour": 10,
        "today": 10,
        "message_count": 10,
    }
    await assert_consistent(db)


async def test_the_burst_limit_refuses_a_quick_sixth_question(client, db, settings):
    user = await create_user(db, settings, plan="paid")
    conversation_id = await create_conversation(db, user.id)

    responses = await asyncio.gather(*(ask(client, user, conversation_id) for _ in range(8)))

    assert Counter(r.status_code for r in responses) == {202: settings.burst_limit, 429: 8 - settings.burst_limit}
    refused = [r for r in responses if r.status_code == 429]
    assert {r.json()["code"] for r in refused} == {"rate_limited"}
    # The oldest of the burst leaves the 10 s window within the next 10 s.
    assert all(settings.burst_window - 1 <= int(r.headers["retry-after"]) <= settings.burst_window for r in refused)


async def _place_hits(db, user_id: str, seconds_ago: list[float]) -> None:
    await db.execute(
        """
        INSERT INTO rate_limits (action, subject, user_id, hit_at, expires_at)
        SELECT 'question', $1::text, $1::text::uuid, now() - s * interval '1 second', now() - s * interval '1 second' + interval '1 day'
          FROM unnest($2::float8[]) AS s""",
        user_id,
        seconds_ago,
    )


@pytest.mark.parametrize(
    ("seconds_ago", "window", "code"),
    [
        # 10 hits in the last hour, the oldest 3,500 s ago: a slot frees in 100 s.
        ([3500 - 30 * i for i in range(10)], 3600, "rate_limited"),
        # 50 hits today, none in the last hour, the oldest 85,900 s ago: a slot frees in 500 s.
        ([85900 - 1000 * i for i in range(50)], 86400, "quota_exhausted"),
    ],
)
async def test_retry_after_is_when_the_oldest_counted_hit_leaves_the_window(
    ask_client, db, settings, seconds_ago, window, code
):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    await _place_hits(db, user.id, seconds_ago)
    oldest = await db.fetchval("SELECT min(hit_at) FROM rate_limits WHERE subject = $1", user.id)

    before = await db.fetchval("SELECT clock_timestamp()")
    response = await ask(ask_client, user, conversation_id)
    after = await db.fetchval("SELECT clock_timestamp()")

    assert response.status_code == 429, response.text
    assert response.json()["code"] == code
    retry_after = int(response.headers["retry-after"])
    truth_latest = (oldest.timestamp() + window) - before.timestamp()
    truth_earliest = (oldest.timestamp() + window) - after.timestamp()
    assert math.floor(truth_earliest) - 1 <= retry_after <= math.ceil(truth_latest) + 1
    assert abs(retry_after - truth_latest) <= 1
    blocked_until = await db.fetchval("SELECT blocked_until FROM subscriptions WHERE user_id = $1::uuid", user.id)
    assert abs(blocked_until.timestamp() - (oldest.timestamp() + window)) < 0.001
    assert await written(db) == {**NOTHING, "hits": len(seconds_ago)}


@pytest.mark.parametrize("content", ["", "   \n\t ", "x" * 8001])
async def test_empty_or_oversized_content_is_422_and_writes_nothing(ask_client, db, settings, content):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)

    response = await ask(ask_client, user, conversation_id, content)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == "content"
    assert await written(db) == NOTHING


async def test_8000_characters_are_accepted_and_extra_fields_rejected(ask_client, db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)

    assert (await ask(ask_client, user, conversation_id, "é" * 8000)).status_code == 202
    extra = await ask_client.post(
        f"/conversations/{conversation_id}/messages", json={"content": "hi", "role": "assistant"}, headers=user.headers
    )
    assert extra.status_code == 422
    assert (await written(db))["messages"] == 1


async def test_an_unknown_or_foreign_conversation_is_404_and_writes_nothing(ask_client, db, settings):
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    foreign = await create_conversation(db, other.id)

    for conversation_id in (foreign, "00000000-0000-4000-8000-000000000000"):
        response = await ask(ask_client, user, conversation_id)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert await written(db) == NOTHING
    assert await db.fetchval("SELECT count(*) FROM subscriptions WHERE blocked_until IS NOT NULL") == 0


async def test_paid_questions_are_fetched_first_in_the_order_of_the_reported_positions(ask_client, db, settings):
    free = await create_user(db, settings)
    paid = await create_user(db, settings, plan="paid")
    # One conversation per question: the per-conversation job lock must not hide priority.
    order = [free, paid, free, paid, free, paid]
    request_ids, at_submit = [], []
    for user in order:
        response = await ask(ask_client, user, await create_conversation(db, user.id))
        assert response.status_code == 202, response.text
        request_ids.append(response.json()["request_id"])
        at_submit.append(response.json()["position"])
    assert at_submit == [1, 1, 3, 2, 5, 3]  # behind the paid ones and the older ones of its plan

    positions = {}
    for user, request_id in zip(order, request_ids, strict=True):
        positions[request_id] = (await ask_client.get(f"/queue/{request_id}", headers=user.headers)).json()["position"]
    by_position = sorted(request_ids, key=positions.__getitem__)
    assert sorted(positions.values()) == list(range(1, 7))

    fetched = []
    while (job := await db.fetchrow("SELECT * FROM procrastinate_fetch_job_v2(ARRAY['questions'], NULL)"))["id"]:
        fetched.append(json.loads(job["args"])["request_id"])
    assert fetched == by_position
    assert fetched[:3] == request_ids[1::2]  # paid first, oldest first


async def test_the_pending_counts_follow_every_change_of_the_queue(ask_client, db, settings):
    free = await create_user(db, settings)
    paid = await create_user(db, settings, plan="paid")
    conversations = {user.id: [await create_conversation(db, user.id) for _ in range(3)] for user in (free, paid)}
    responses = await asyncio.gather(
        *(ask(ask_client, user, c) for user in (free, paid) for c in conversations[user.id])
    )
    assert [r.status_code for r in responses] == [202] * 6
    await assert_consistent(db)

    # One statement across both priorities each way (a worker's sweep, a retry), then
    # cascades from a conversation and from a user, then TRUNCATE.
    changes = [
        "UPDATE request_queue SET status = 'processing', started_at = now() WHERE status = 'pending'",
        "UPDATE request_queue SET status = 'pending', started_at = NULL WHERE message_seq = 1",
        f"DELETE FROM conversations WHERE id = '{conversations[paid.id][0]}'",
        f"DELETE FROM users WHERE id = '{free.id}'",
    ]
    for sql in changes:
        await db.execute(sql)
        assert (await db.fetchrow(CONSISTENCY_VIOLATIONS))["pending_counts_off"] == 0, sql
    assert await db.fetchval("SELECT sum(pending) FROM request_queue_pending_counts") == 2
    await db.execute("TRUNCATE request_queue")
    assert await db.fetchval("SELECT count(*) FROM request_queue_pending_counts") == 0


async def test_a_suspended_or_deleted_user_cannot_ask_and_nothing_is_written(ask_client, db, settings):
    """The route checks the user's status in its SQL call (not in the middleware): still at once."""
    user = await create_user(db, settings)
    gone = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    await db.execute("UPDATE users SET status = 'suspended' WHERE id = $1::uuid", user.id)
    await db.execute("DELETE FROM users WHERE id = $1::uuid", gone.id)

    for who in (user, gone):
        response = await ask(ask_client, who, conversation_id)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await written(db) == NOTHING


async def test_queue_status_reports_the_reply_recent_or_archived_and_hides_others_requests(ask_client, db, settings):
    user = await create_user(db, settings)
    other = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = (await ask(ask_client, user, conversation_id)).json()["request_id"]

    assert (await ask_client.get(f"/queue/{request_id}", headers=other.headers)).status_code == 404
    assert (
        await ask_client.get("/queue/00000000-0000-4000-8000-000000000000", headers=user.headers)
    ).status_code == 404

    # What the worker does on success, in short.
    await db.execute(
        """
        INSERT INTO recent_messages (conversation_id, seq, user_id, role, content, request_id)
        VALUES ($1::uuid, 2, $2::uuid, 'assistant', 'What do you think?', $3::uuid);
        """.strip().rstrip(";"),
        conversation_id,
        user.id,
        request_id,
    )
    await db.execute(
        """UPDATE request_queue SET status = 'completed', attempts = 1, reply_seq = 2,
                        prompt_tokens = 12, completion_tokens = 5, completed_at = now() WHERE id = $1::uuid""",
        request_id,
    )
    expected = {
        "request_id": request_id,
        "status": "completed",
        "position": None,
        "attempts": 1,
        "reply": {
            "seq": 2,
            "content": "What do you think?",
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "stopped": False,
        },
    }
    assert (await ask_client.get(f"/queue/{request_id}", headers=user.headers)).json() == expected

    await db.execute(
        """WITH moved AS (DELETE FROM recent_messages WHERE conversation_id = $1::uuid AND seq = 2
                                       RETURNING conversation_id, seq, user_id, role, content, request_id, created_at)
                        INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, request_id,
                                                       created_at) SELECT * FROM moved""",
        conversation_id,
    )
    assert (await ask_client.get(f"/queue/{request_id}", headers=user.headers)).json() == expected


async def test_the_51st_message_moves_the_oldest_to_the_archive(ask_client, db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    await db.execute(
        """
        INSERT INTO recent_messages (conversation_id, seq, user_id, role, content)
        SELECT $1::uuid, s, $2::uuid, 'system', 'earlier ' || s FROM generate_series(1, 50) AS s""",
        conversation_id,
        user.id,
    )
    await db.execute("UPDATE conversations SET message_count = 50 WHERE id = $1::uuid", conversation_id)

    response = await ask(ask_client, user, conversation_id)

    assert response.json()["message_seq"] == 51
    assert await db.fetchval(
        "SELECT array_agg(seq) FROM archived_messages WHERE conversation_id = $1::uuid", conversation_id
    ) == [1]
    assert (
        await db.fetchval("SELECT count(*) FROM recent_messages WHERE conversation_id = $1::uuid", conversation_id)
        == 50
    )
    assert await db.fetchval("SELECT archived_count FROM conversations WHERE id = $1::uuid", conversation_id) == 1


async def test_expired_rate_limit_rows_are_purged_in_batches(db, settings):
    user = await create_user(db, settings)
    await _place_hits(db, user.id, [90000.0] * 5 + [10.0])

    assert await db.fetchval("SELECT mukti_purge_rate_limits_v1(3)") == 3
    assert await db.fetchval("SELECT mukti_purge_rate_limits_v1(3)") == 2
    assert await db.fetchval("SELECT mukti_purge_rate_limits_v1(3)") == 0
    assert await db.fetchval("SELECT count(*) FROM rate_limits") == 1


async def test_admin_queue_overview(client, db, settings):
    admin = await create_user(db, settings, role="admin")
    user = await create_user(db, settings, plan="paid")
    conversation_id = await create_conversation(db, user.id)
    await ask(client, user, conversation_id)

    assert (await client.get("/admin/queue", headers=user.headers)).status_code == 403
    body = (await client.get("/admin/queue", headers=admin.headers)).json()
    assert body["pending_by_priority"] == [{"priority": 10, "count": 1}]
    assert (body["processing"], body["failed_24h"]) == (0, 0)
    assert 0 <= body["oldest_pending_seconds"] < 60
