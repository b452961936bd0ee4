"""The accept call keeps using indexes when the queue grows under a session that planned
it on an empty queue (mukti_submit_question_v7, SET enable_seqscan = off): a session
keeps the plans of its first calls, and plans made on empty tables scan them whole."""

from __future__ import annotations

import asyncpg

from core.database.gateway import Db
from tests.factories import create_user
from tests.integration.conversations_support import create_conversation, create_plan

# The tables the accept call reads by key that are empty on a quiet queue.
QUEUE_TABLES = ["request_queue", "procrastinate_jobs", "rate_limits"]
BACKLOG = 1200


async def ask(db: asyncpg.Connection, user_id: str, conversation_id: str) -> None:
    row = await Db.on(db).fetchrow(
        "conversations_submit_question",
        user_id=user_id,
        conversation_id=conversation_id,
        content="What is a good reason?",
        burst_limit=1_000_000,
        burst_window=10,
        max_attempts=3,
        mode="ask",
        seq=None,
    )
    assert row is not None and row["outcome"] == "accepted", row


async def test_a_session_that_planned_on_an_empty_queue_uses_indexes_once_it_has_grown(db, database_url, settings):
    await create_plan(db, "roomy", per_hour=1_000_000, per_day=1_000_000, priority=1)
    user = await create_user(db, settings, plan="roomy")
    conversations = [await create_conversation(db, user.id) for _ in range(30)]
    await db.execute("VACUUM ANALYZE request_queue, procrastinate_jobs, rate_limits")
    early = await asyncpg.connect(database_url)
    try:
        for conversation_id in conversations[:10]:  # past the plan cache's five custom plans
            await ask(early, user.id, conversation_id)
        others = [(await create_user(db, settings, plan="roomy")).id for _ in range(BACKLOG // 100)]
        for other in others:
            for conversation_id in [await create_conversation(db, other) for _ in range(100)]:
                await ask(db, other, conversation_id)

        async with early.transaction():
            for conversation_id in conversations[10:]:
                await ask(early, user.id, conversation_id)
            scans = dict(
                await early.fetch(
                    "SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE relname = ANY($1::text[])",
                    QUEUE_TABLES,
                )
            )
    finally:
        await early.close()
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE status = 'pending'") == BACKLOG + 30
    assert scans == dict.fromkeys(QUEUE_TABLES, 0)
