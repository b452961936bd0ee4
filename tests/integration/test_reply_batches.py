"""Reply batches (jobs/replies.py, mukti_complete_streams_v1): replies a worker finishes
while its connections are busy are stored together, in one transaction, each exactly as it
would be alone, and finish their jobs with them; a refused batch is stored reply by reply.
(The line's other rules, shared with the accept batches, are tested there:
tests/integration/test_accept_batches.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import NamedTuple

import asyncpg
import pytest

from core.database.gateway import Db
from core.settings import Settings
from jobs.replies import Reply, ReplyBatches
from tests.factories import create_user
from tests.integration.answering_helpers import stub_control, stub_stats, submit_sql, wait_until, worker_process
from tests.integration.conversations_support import assert_consistent, create_conversation


class Taken(NamedTuple):
    """A question whose job a worker fetched and whose attempt it started."""

    user_id: str
    conversation_id: str
    request_id: str
    job_id: int


async def _taken(db: asyncpg.Connection, settings: Settings, users: int, per_user: int = 1) -> list[Taken]:
    """users x per_user questions, each in a conversation of its own, fetched and started."""
    asked = []
    for _ in range(users):
        user = await create_user(db, settings, plan="paid")
        for _ in range(per_user):
            conversation = await create_conversation(db, user.id)
            asked.append((user.id, conversation, await submit_sql(db, user.id, conversation, "Is a virtue a habit?")))
    worker_id = await db.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
    for _ in asked:
        assert await db.fetchval("SELECT id FROM procrastinate_fetch_job_v2(ARRAY['questions'], $1)", worker_id)
    taken = []
    for user_id, conversation, request_id in asked:
        job_id = await db.fetchval("SELECT job_id FROM request_queue WHERE id = $1::uuid", request_id)
        assert await Db.on(db).fetchrow("answering_start_attempt", request_id=request_id, user_id=user_id)
        taken.append(Taken(user_id, conversation, request_id, job_id))
    return taken


def _reply(taken: Taken, content: str = "What do you mean by virtue?", **changes) -> Reply:
    fields = {
        "request_id": taken.request_id,
        "user_id": taken.user_id,
        "job_id": taken.job_id,
        "content": content,
        "prompt_tokens": 12,
        "completion_tokens": 6,
        "latency_ms": 30,
        "first_token_ms": 5,
        "usage_estimated": False,
        "stopped": False,
    }
    return Reply(**{**fields, **changes})


def _arrays(replies: list[Reply]) -> dict[str, list]:
    return {
        "request_ids": [r.request_id for r in replies],
        "contents": [r.content for r in replies],
        "prompt_tokens": [r.prompt_tokens for r in replies],
        "completion_tokens": [r.completion_tokens for r in replies],
        "latency_ms": [r.latency_ms for r in replies],
        "first_token_ms": [r.first_token_ms for r in replies],
        "usage_estimated": [r.usage_estimated for r in replies],
        "stopped": [r.stopped for r in replies],
        "user_ids": [r.user_id for r in replies],
        "job_ids": [r.job_id for r in replies],
    }


class Line:
    """A reply line with one sender, and the batches it reported."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 16) -> None:
        self.reported: list[tuple[str, int]] = []
        self.line = ReplyBatches(Db(pool), senders=1, max_batch=max_batch, on_batch=lambda *b: self.reported.append(b))

    async def store(self, reply: Reply) -> asyncpg.Record:
        return await self.line.submit(reply)


async def _jobs_left(db: asyncpg.Connection, taken: list[Taken]) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM procrastinate_jobs WHERE id = ANY($1::bigint[])", [t.job_id for t in taken]
    )


async def test_one_call_stores_several_users_replies_in_one_transaction_each_as_alone(db, settings, pool):
    a1, a2, b1 = await _taken(db, settings, 1, per_user=2) + await _taken(db, settings, 1)
    # b's second question, cancelled while it was pending: its reply must not be stored.
    cancelled_conversation = await create_conversation(db, b1.user_id)
    cancelled_id = await submit_sql(db, b1.user_id, cancelled_conversation, "And courage?")
    await db.execute("SELECT * FROM mukti_cancel_request_v1($1::uuid, $2::uuid)", b1.user_id, cancelled_id)
    cancelled = Taken(b1.user_id, cancelled_conversation, cancelled_id, 0)
    # a's reply to b's request: hidden by Row-Level Security, as it would be alone.
    stranger = Taken(a1.user_id, b1.conversation_id, b1.request_id, 0)
    replies = [_reply(b1), _reply(a1), _reply(cancelled), _reply(a2), _reply(stranger)]

    # One transaction for all: rolled back, none of it stays (no item commits on its own).
    async with pool.acquire() as conn:
        rolled_back = conn.transaction()
        await rolled_back.start()
        await Db.on(conn).fetch("answering_complete_streams", **_arrays(replies))
        await rolled_back.rollback()
    assert await _jobs_left(db, [a1, a2, b1]) == 3

    rows = await Db(pool).fetch("answering_complete_streams", **_arrays(replies))

    by_item = {row["item"]: row["outcome"] for row in rows}
    assert by_item == {1: "completed", 2: "completed", 3: "already_cancelled", 4: "completed", 5: "not_found"}
    stored = await db.fetch(
        "SELECT status FROM request_queue WHERE id = ANY($1::uuid[])",
        [a1.request_id, a2.request_id, b1.request_id],
    )
    assert [r["status"] for r in stored] == ["completed"] * 3
    assert await _jobs_left(db, [a1, a2, b1]) == 0  # each reply finished its job
    replies_stored = await db.fetchval(
        "SELECT count(*) FROM recent_messages WHERE role = 'assistant' AND content = 'What do you mean by virtue?'"
    )
    assert replies_stored == 3
    await assert_consistent(db)


async def test_a_scoped_transaction_the_service_role_and_arrays_of_different_lengths_are_refused(db, settings, pool):
    (taken,) = await _taken(db, settings, 1)
    batch = _arrays([_reply(taken)])
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be neither scoped nor the service role"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('mukti.user_id', $1, true)", taken.user_id)
                await Db.on(conn).fetch("answering_complete_streams", **batch)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be neither scoped nor the service role"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('role', 'mukti_service', true)")
                await Db.on(conn).fetch("answering_complete_streams", **batch)
        with pytest.raises(asyncpg.InvalidParameterValueError, match="of one length"):
            await Db.on(conn).fetch("answering_complete_streams", **{**batch, "stopped": [False, False]})
        with pytest.raises(asyncpg.InvalidParameterValueError, match="at most 100 replies"):
            await Db.on(conn).fetch("answering_complete_streams", **_arrays([_reply(taken)] * 101))
        # Called inside a transaction: the item's scope ends with the call.
        async with conn.transaction():
            assert (await Db.on(conn).fetch("answering_complete_streams", **batch))[0]["outcome"] == "completed"
            assert await conn.fetchval("SELECT current_setting('mukti.user_id', true)") == ""
            assert await conn.fetchval("SELECT current_setting('mukti.pending_slot', true)") == ""
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", taken.request_id) == "completed"


async def test_replies_that_queue_for_the_sender_are_stored_together(db, settings, pool):
    taken = await _taken(db, settings, 5, per_user=4)
    line = Line(pool)

    rows = await asyncio.gather(*(line.store(_reply(t)) for t in taken))

    assert [row["outcome"] for row in rows] == ["completed"] * 20
    # The first reply found the sender free and took the others along: batches of at most 16.
    assert line.reported == [("committed", 16), ("committed", 4)]
    assert await _jobs_left(db, taken) == 0
    await assert_consistent(db)


async def test_a_batch_refused_by_postgres_is_stored_reply_by_reply(db, settings, pool):
    taken = await _taken(db, settings, 4)
    line = Line(pool)
    # A negative token count breaks a check of the usage rows: the whole batch is refused;
    # sent alone, the others are stored and it gets its own error.
    replies = [_reply(t) for t in taken]
    replies[2] = _reply(taken[2], prompt_tokens=-1)

    results = await asyncio.gather(*(line.store(r) for r in replies), return_exceptions=True)

    assert isinstance(results[2], asyncpg.CheckViolationError), results[2]
    assert [r["outcome"] for i, r in enumerate(results) if i != 2] == ["completed"] * 3
    assert line.reported == [("sent_alone", 4)]
    assert await _jobs_left(db, taken) == 1
    await assert_consistent(db)


async def _held_on_a_lock(db: asyncpg.Connection, function: str) -> bool:
    return await db.fetchval(
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1", f"%{function}%"
    )


async def test_a_reply_held_on_a_lock_is_left_for_later_and_the_others_are_stored(db, settings, pool, database_url):
    taken = await _taken(db, settings, 3)
    line = Line(pool)
    holder = await asyncpg.connect(database_url)
    try:
        # The second reply's request is locked by someone else (a stuck session).
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1 FROM request_queue WHERE id = $1::uuid FOR UPDATE", taken[1].request_id)
        stores = [asyncio.create_task(line.store(_reply(t))) for t in taken]

        # The batch waits 200 ms for the lock (mukti_complete_streams_v1), then stores the
        # others and leaves the held one unwritten, to be sent again a little later.
        done = await asyncio.wait_for(asyncio.gather(stores[0], stores[2]), 10)
        assert [row["outcome"] for row in done] == ["completed", "completed"]
        assert line.reported[:2] == [("committed", 3), ("held", 1)]
        assert not stores[1].done()
        assert await _jobs_left(db, taken) == 1
        await holder.execute("ROLLBACK")
        # Released, it is stored on its next turn.
        assert (await asyncio.wait_for(stores[1], 10))["outcome"] == "completed"
        assert {outcome for outcome, _ in line.reported[2:]} <= {"held"}  # any turn while it was locked
    finally:
        await holder.close()
        await line.line.close(5)
    assert await _jobs_left(db, taken) == 0
    await assert_consistent(db)


async def test_a_held_reply_is_not_written_when_the_line_closes(db, settings, pool, database_url):
    (taken,) = await _taken(db, settings, 1)
    line = Line(pool)
    holder = await asyncpg.connect(database_url)
    try:
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1 FROM request_queue WHERE id = $1::uuid FOR UPDATE", taken.request_id)
        store = asyncio.create_task(line.store(_reply(taken)))

        async def held_once():
            return line.reported

        await wait_until(held_once, 10, "the reply found held")
        await asyncio.wait_for(line.line.close(5), 10)
        with pytest.raises(ConnectionAbortedError, match="stopping"):
            await store
    finally:
        await holder.close()
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", taken.request_id) == "processing"
    assert await _jobs_left(db, [taken]) == 1


async def test_closing_cuts_off_a_sender_past_the_timeout(db, settings, pool, database_url):
    first, second = await _taken(db, settings, 2)
    line = Line(pool)
    holder = await asyncpg.connect(database_url)
    try:
        # Every counting slot of batches held: the call waits for its slot, before any of
        # its items (that wait has no 200 ms limit).
        await holder.execute("BEGIN")
        await holder.execute(
            "SELECT pg_advisory_xact_lock(hashtext('mukti.pending_slot'), slot) FROM generate_series(64, 127) slot"
        )
        stuck = asyncio.create_task(line.store(_reply(first)))
        await wait_until(lambda: _held_on_a_lock(db, "mukti_complete_streams"), 10, "the call waiting for its slot")
        waiting = asyncio.create_task(line.store(_reply(second)))
        await asyncio.sleep(0)  # (it joins the line behind the stuck one)

        await asyncio.wait_for(line.line.close(0.2), 5)

        with pytest.raises(ConnectionAbortedError, match="cut off"):
            await stuck
        with pytest.raises(ConnectionAbortedError, match="stopping"):
            await waiting
        with pytest.raises(ConnectionAbortedError, match="stopping"):
            await line.store(_reply(second))
    finally:
        await holder.close()
    assert await _jobs_left(db, [first, second]) == 2


async def test_a_worker_stores_the_replies_that_wait_for_its_connections_together(
    db, settings, database_url, stub, tmp_path
):
    """A real worker process: while every reply is held on a lock, longer than the pool's
    acquire timeout, the replies come back to its line again and again, none given up;
    released, they are stored in batches, each request answered once, on its first
    attempt, and the worker counts the batches and the held replies."""
    asked = []
    for _ in range(4):
        user = await create_user(db, settings, plan="paid")
        for _ in range(3):
            conversation = await create_conversation(db, user.id)
            asked.append(await submit_sql(db, user.id, conversation, "Is a virtue a habit?"))
    stub_control(stub, latency_ms=0)
    holder = await asyncpg.connect(database_url)
    env = {"MUKTI_WORKER_CONCURRENCY": "30", "MUKTI_METRICS_FLUSH_INTERVAL": "0.2", "MUKTI_DB_ACQUIRE_TIMEOUT": "0.5"}

    async def totals() -> dict[tuple[str, str], float]:
        return {(r["name"], r["labels"]): r["value"] for r in await Db.on(db).fetch("metrics_totals")}

    try:
        # Every subscription locked: each reply waits 200 ms for it, and is left for later.
        await holder.execute("BEGIN; SELECT 1 FROM subscriptions FOR UPDATE")
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log", **env):

            async def every_reply_held():
                held = (await totals()).get(("mukti_reply_batched_total", 'outcome="held"'), 0)
                return stub_stats(stub)["total"] >= len(asked) and held >= len(asked)

            await wait_until(every_reply_held, 30, "every LLM call made and every reply held")
            await holder.execute("ROLLBACK")

            async def answered():
                return await db.fetchval("SELECT count(*) FROM request_queue WHERE status = 'completed'") == len(asked)

            await wait_until(answered, 30, "every request answered")

            async def counted():
                now = await totals()
                return now.get(("mukti_reply_batches_total", 'outcome="committed"'), 0) >= 1 and now

            counts = await wait_until(counted, 10, "the worker's reply batches counted")
    finally:
        await holder.close()
    assert counts.get(("mukti_reply_batches_total", 'outcome="failed"'), 0) == 0
    assert counts.get(("mukti_reply_batches_total", 'outcome="sent_alone"'), 0) == 0
    # No LLM answer was thrown away: every request was answered on its first attempt.
    assert await db.fetchval("SELECT array_agg(DISTINCT attempts) FROM request_queue") == [1]
    replies = await db.fetch(
        "SELECT q.id, count(m.*) AS n FROM request_queue q "
        "LEFT JOIN recent_messages m ON m.conversation_id = q.conversation_id AND m.role = 'assistant' GROUP BY q.id"
    )
    assert Counter(r["n"] for r in replies) == {1: len(asked)}  # each answered once
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'answer_question'") == 0
    await assert_consistent(db)
