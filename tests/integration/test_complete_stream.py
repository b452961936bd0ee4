"""The worker's stored reply (mukti_complete_stream_v4, v3 and
mukti_complete_request_v4): the stream's columns set with the completion, the relayed
pieces replaced by the reply, the answering job finished with it, and a request
cancelled meanwhile left as it is."""

from __future__ import annotations

import asyncio

import asyncpg

from core.database.gateway import Db
from tests.factories import create_user
from tests.integration.answering_helpers import submit_sql, wait_until
from tests.integration.conversations_support import create_conversation


async def complete_stream(db, request_id: str, user_id: str, **stream) -> dict:
    # mukti_complete_stream_v4 called directly: the worker calls it through
    # mukti_complete_streams_v1 (jobs/replies.py, tests/integration/test_reply_batches.py),
    # which adds a lock timeout this file's waits would trip.
    row = await db.fetchrow(
        "SELECT outcome, reply_seq, cost, limit_reached"
        "  FROM mukti_complete_stream_v4($1, $2, $3, $4, $5, $6, $7, $8, $9::uuid, $10::bigint)",
        request_id,
        "What do you mean by that?",
        12,
        6,
        30,
        stream.get("first_token_ms"),
        stream.get("usage_estimated", False),
        stream.get("stopped", False),
        user_id,
        stream.get("job_id"),
    )
    assert row is not None
    return dict(row)


async def test_a_streamed_reply_is_stored_with_its_stream_columns_and_replaces_its_pieces(db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = await submit_sql(db, user.id, conversation_id, "Is a virtue a habit?")
    assert await Db.on(db).fetchrow("answering_start_attempt", request_id=request_id, user_id=user.id)
    await Db.on(db).execute(
        "answering_stream_append",
        request_ids=[request_id],
        attempts=[1],
        offsets=[0],
        user_ids=[user.id],
        contents=["What do"],
        payloads=[],
    )

    done = await complete_stream(db, request_id, user.id, first_token_ms=7, usage_estimated=True, stopped=True)

    assert done["outcome"] == "completed" and done["reply_seq"] == 2
    row = await db.fetchrow(
        "SELECT status, stopped, usage_estimated, first_token_ms, "
        "(SELECT count(*) FROM request_stream_chunks s WHERE s.request_id = q.id) AS pieces "
        "FROM request_queue q WHERE q.id = $1::uuid",
        request_id,
    )
    assert dict(row) == {
        "status": "completed",
        "stopped": True,
        "usage_estimated": True,
        "first_token_ms": 7,
        "pieces": 0,
    }


async def test_a_request_cancelled_before_its_reply_is_stored_gets_no_reply(db, settings):
    # A worker that outlived its heartbeat may still be streaming a request whose user
    # cancelled it while it was pending again: its reply must not be stored.
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = await submit_sql(db, user.id, conversation_id, "Is a virtue a habit?")
    cancelled = await db.fetchrow("SELECT * FROM mukti_cancel_request_v1($1::uuid, $2::uuid)", user.id, request_id)
    assert dict(cancelled) == {"outcome": "cancelled", "status": "cancelled"}

    done = await complete_stream(db, request_id, user.id)

    assert done["outcome"] == "already_cancelled" and done["reply_seq"] is None
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "cancelled"
    written = await db.fetchrow(
        "SELECT (SELECT count(*) FROM recent_messages WHERE conversation_id = $1::uuid AND role = 'assistant') AS replies, "
        "(SELECT count(*) FROM usage_events WHERE request_id = $2::uuid) AS usage",
        conversation_id,
        request_id,
    )
    assert dict(written) == {"replies": 0, "usage": 0}


async def test_a_cancel_committed_while_the_reply_waits_for_its_locks_wins(db, database_url, settings):
    # The cancel holds its locks while the worker's completion starts: the completion
    # waits, then finds the request cancelled under its lock and stores nothing (the v1
    # wrapper checked before taking the locks, saw 'pending', and completed it).
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = await submit_sql(db, user.id, conversation_id, "Is a virtue a habit?")
    canceller = await asyncpg.connect(database_url)
    completer = await asyncpg.connect(database_url)
    try:
        cancel = canceller.transaction()
        await cancel.start()
        cancelled = await canceller.fetchrow(
            "SELECT * FROM mukti_cancel_request_v1($1::uuid, $2::uuid)", user.id, request_id
        )
        assert cancelled["outcome"] == "cancelled"
        completing = asyncio.ensure_future(complete_stream(completer, request_id, user.id))
        waiting = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1"
        await wait_until(
            lambda: db.fetchval(waiting, completer.get_server_pid()), 10, "the completion waiting for a lock"
        )
        await cancel.commit()
        done = await asyncio.wait_for(completing, 10)
    finally:
        await canceller.close()
        await completer.close()

    assert done["outcome"] == "already_cancelled"
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "cancelled"
    assert not await db.fetchval(
        "SELECT count(*) FROM recent_messages WHERE conversation_id = $1::uuid AND role = 'assistant'", conversation_id
    )


async def test_the_reply_finishes_the_job_that_answered_it(db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = await submit_sql(db, user.id, conversation_id, "Is a virtue a habit?")
    worker_id = await db.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
    job_id = await db.fetchval("SELECT id FROM procrastinate_fetch_job_v2(ARRAY['questions'], $1)", worker_id)
    assert job_id == await db.fetchval("SELECT job_id FROM request_queue WHERE id = $1::uuid", request_id)
    assert await Db.on(db).fetchrow("answering_start_attempt", request_id=request_id, user_id=user.id)

    tx = db.transaction()
    await tx.start()
    done = await complete_stream(db, request_id, user.id, job_id=job_id)
    assert done["outcome"] == "completed"
    assert not await db.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE id = $1", job_id)
    await tx.rollback()  # one transaction: the job comes back with the reply undone
    assert await db.fetchval("SELECT status FROM procrastinate_jobs WHERE id = $1", job_id) == "doing"
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "processing"

    await complete_stream(db, request_id, user.id, job_id=job_id)
    assert not await db.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE id = $1", job_id)
