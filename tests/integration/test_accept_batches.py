"""Accept batches (api/conversations/batches.py, mukti_submit_questions_v1): questions that
queue for an API process's connections are accepted together, in one transaction, each
exactly as it would be alone; a refused batch is sent again question by question; a batch
whose outcome is unknown is not sent again; a request gone before its question is sent
writes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

import asyncpg
import pytest

from api.conversations.batches import AcceptBatches, Question
from core.database.gateway import Db
from core.settings import Settings
from tests.factories import create_user
from tests.integration.answering_helpers import wait_until
from tests.integration.conversations_support import assert_consistent, create_conversation, written


class Batches:
    """An accept line with one sender, and the batches it reported."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.reported: list[tuple[str, int]] = []
        self.line = AcceptBatches(
            Db(pool), settings, senders=1, max_batch=16, on_batch=lambda *batch: self.reported.append(batch)
        )

    async def ask(self, user_id: str, conversation_id: str, content: str | None = "Why?") -> asyncpg.Record:
        return await self.line.submit(Question(user_id, conversation_id, content))


async def _learners(db, settings, n: int, plan: str = "paid") -> list[tuple[str, str]]:
    learners = []
    for _ in range(n):
        user = await create_user(db, settings, plan=plan)
        learners.append((user.id, await create_conversation(db, user.id)))
    return learners


async def _waiting_on_a_lock(db: asyncpg.Connection, function: str) -> int:
    """The pid of the backend whose call of `function` waits for a row lock."""
    found: list[int] = []

    async def waiting() -> bool:
        found[:] = [
            pid
            for (pid,) in await db.fetch(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'",
                function,
            )
        ]
        return bool(found)

    await wait_until(waiting, 10, f"a call of {function} to wait for a lock")
    return found[0]


async def test_one_call_accepts_several_users_questions_in_one_transaction_each_as_alone(db, settings, pool):
    (a, a_conv), (b, b_conv) = await _learners(db, settings, 2)
    stranger = "00000000-0000-0000-0000-000000000001"
    items = [(b, b_conv), (a, a_conv), (a, a_conv), (stranger, a_conv), (a, b_conv)]
    rows = await Db(pool).fetch(
        "conversations_submit_questions",
        user_ids=[u for u, _ in items],
        conversation_ids=[c for _, c in items],
        contents=[f"question {i}" for i in range(1, 6)],
        modes=["ask"] * 5,
        seqs=[None] * 5,
        burst_limit=0,
        burst_window=0,
        max_attempts=3,
    )
    by_item = {row["item"]: row for row in rows}
    assert {i: by_item[i]["outcome"] for i in by_item} == {
        1: "accepted",
        2: "accepted",
        3: "accepted",
        4: "unauthorized",  # no such user: nothing written for it
        5: "not_found",  # another user's conversation, hidden by Row-Level Security
    }
    # The same user's questions in the order they came, numbered as if asked one by one.
    assert [by_item[i]["message_seq"] for i in (1, 2, 3)] == [1, 1, 2]
    requests = await db.fetch(
        "SELECT id::text, user_id::text, conversation_id::text, xmin::text AS tx FROM request_queue ORDER BY queued_at"
    )
    assert {(r["id"], r["user_id"], r["conversation_id"]) for r in requests} == {
        (by_item[1]["request_id"], b, b_conv),
        (by_item[2]["request_id"], a, a_conv),
        (by_item[3]["request_id"], a, a_conv),
    }
    assert len({r["tx"] for r in requests}) == 1  # one transaction
    assert await db.fetchval("SELECT content FROM recent_messages WHERE conversation_id = $1::uuid", b_conv) == (
        "question 1"
    )
    await assert_consistent(db)


async def test_a_scoped_transaction_and_arrays_of_different_lengths_are_refused(db, settings, pool):
    ((user, conversation),) = await _learners(db, settings, 1)
    batch = {
        "user_ids": [user],
        "conversation_ids": [conversation],
        "contents": ["Why?"],
        "modes": ["ask"],
        "seqs": [None],
        "burst_limit": 0,
        "burst_window": 0,
        "max_attempts": 3,
    }
    async with pool.acquire() as conn:
        async with conn.transaction():
            # Called inside a transaction: each item's scope ends with the call.
            assert (await Db.on(conn).fetch("conversations_submit_questions", **batch))[0]["outcome"] == "accepted"
            assert await conn.fetchval("SELECT current_setting('mukti.user_id', true)") == ""
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be neither scoped nor the service role"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('mukti.user_id', $1, true)", user)
                await Db.on(conn).fetch("conversations_submit_questions", **batch)
        # The service role's row policies admit every user's rows: no item would be kept to its own.
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be neither scoped nor the service role"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('role', 'mukti_service', true)")
                await Db.on(conn).fetch("conversations_submit_questions", **batch)
    with pytest.raises(asyncpg.InvalidParameterValueError, match="of one length"):
        await Db(pool).fetch("conversations_submit_questions", **{**batch, "modes": ["ask", "ask"]})
    assert await db.fetchval("SELECT count(*) FROM request_queue") == 1


async def test_questions_that_queue_for_the_sender_go_together_and_the_limits_hold(db, settings, pool):
    learners = await _learners(db, settings, 20)
    (free, free_conversation), *_ = await _learners(db, settings, 1, plan="free")
    batches = Batches(pool, settings)
    asks = [batches.ask(user, conversation) for user, conversation in learners]
    # One free user's 12 questions among them: the burst limit (5 in 10 s) holds within a batch.
    asks += [batches.ask(free, free_conversation) for _ in range(12)]

    rows = await asyncio.gather(*asks)

    assert Counter(row["outcome"] for row in rows) == {"accepted": 20 + settings.burst_limit, "rate_limited": 7}
    # The first question found the sender free and took the others along: 32 waiting, in
    # batches of at most 16, every batch committed.
    assert batches.reported == [("committed", 16), ("committed", 16)]
    assert await written(db) == {
        "hits": 25,
        "messages": 25,
        "requests": 25,
        "jobs": 25,
        "this_hour": 25,
        "today": 25,
        "message_count": 25,
    }
    await assert_consistent(db)


async def test_a_batch_refused_by_postgres_is_sent_again_question_by_question(db, settings, pool):
    learners = await _learners(db, settings, 4)
    batches = Batches(pool, settings)
    # A blank question skips the API's check here: the function refuses it, and with it the
    # whole batch; sent alone, the others are accepted and it gets its own error.
    contents = ["Why?", "   ", "Why?", "Why?"]
    results = await asyncio.gather(
        *(batches.ask(u, c, content) for (u, c), content in zip(learners, contents, strict=True)),
        return_exceptions=True,
    )
    assert isinstance(results[1], asyncpg.CheckViolationError)
    assert [r["outcome"] for i, r in enumerate(results) if i != 1] == ["accepted"] * 3
    assert batches.reported == [("sent_alone", 4)]
    assert (await written(db))["requests"] == 3
    await assert_consistent(db)


async def test_a_batch_cut_off_by_the_database_is_not_sent_again(db, settings, pool, database_url):
    learners = await _learners(db, settings, 3)
    batches = Batches(pool, settings)
    holder = await asyncpg.connect(database_url)
    try:
        # Every subscription locked elsewhere: the batch waits on its first item.
        await holder.execute("BEGIN; SELECT 1 FROM subscriptions FOR UPDATE")
        asks = asyncio.gather(*(batches.ask(u, c) for u, c in learners), return_exceptions=True)
        pid = await _waiting_on_a_lock(db, "mukti_submit_questions_v1")
        assert await db.fetchval("SELECT pg_terminate_backend($1)", pid)
        # (Resent, the questions would wait for the held locks: fail, do not hang.)
        async with asyncio.timeout(20):
            results = await asks
        await holder.execute("ROLLBACK")
    finally:
        await holder.close()
    # Whether it committed was unknown to the API: each question got the error, none was resent.
    assert all(isinstance(r, asyncpg.ConnectionDoesNotExistError) for r in results), results
    assert batches.reported == [("failed", 3)]
    assert (await written(db))["requests"] == 0


async def test_a_request_cancelled_while_its_question_waits_writes_nothing(db, settings, pool, database_url):
    (first, first_conversation), (second, second_conversation) = await _learners(db, settings, 2)
    batches = Batches(pool, settings)
    holder = await asyncpg.connect(database_url)
    try:
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1 FROM subscriptions WHERE user_id = $1::uuid FOR UPDATE", first)
        sent = asyncio.create_task(batches.ask(first, first_conversation))
        await _waiting_on_a_lock(db, "mukti_submit_question_v7")  # sent alone: the sender is busy
        waiting = asyncio.create_task(batches.ask(second, second_conversation))
        await asyncio.sleep(0)  # one turn of the loop: the question joins the line
        waiting.cancel()
        await holder.execute("ROLLBACK")
        assert (await sent)["outcome"] == "accepted"
    finally:
        await holder.close()
    await batches.line.close(5)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE user_id = $1::uuid", second) == 0
    assert batches.reported == []
    await assert_consistent(db)


async def test_a_question_asked_as_the_last_sender_stops_is_still_sent(db, settings, pool):
    learners = await _learners(db, settings, 3)
    batches = Batches(pool, settings)
    # Each question is asked the moment the previous one's answer arrives: its sender is
    # then finishing its last look at the line, and must not be counted as still sending.
    # (asyncio.timeout, not wait_for: that would run the call in a task of its own, a turn
    # of the loop later.)
    for user, conversation in learners:
        async with asyncio.timeout(10):
            row = await batches.ask(user, conversation)
        assert row["outcome"] == "accepted"
    assert batches.reported == []


async def test_a_question_that_waited_longer_than_for_a_connection_is_refused_unsent(db, settings, pool, database_url):
    (first, first_conversation), (second, second_conversation) = await _learners(db, settings, 2)
    batches = Batches(pool, dataclasses.replace(settings, db_acquire_timeout=0.05))
    holder = await asyncpg.connect(database_url)
    try:
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1 FROM subscriptions WHERE user_id = $1::uuid FOR UPDATE", first)
        sent = asyncio.create_task(batches.ask(first, first_conversation))
        await _waiting_on_a_lock(db, "mukti_submit_question_v7")
        late = asyncio.create_task(batches.ask(second, second_conversation))
        await asyncio.sleep(0.1)  # the time a connection would have been waited for, passed in the line
        await holder.execute("ROLLBACK")
        assert (await sent)["outcome"] == "accepted"  # taken before its time was up
    finally:
        await holder.close()
    with pytest.raises(TimeoutError, match="waited too long"):
        await late
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE user_id = $1::uuid", second) == 0


async def test_a_failing_counter_costs_no_question_its_answer(db, settings, pool):
    learners = await _learners(db, settings, 6)

    def broken(outcome: str, size: int) -> None:
        raise RuntimeError("the metrics are broken")

    line = AcceptBatches(Db(pool), settings, senders=1, max_batch=16, on_batch=broken)
    rows = await asyncio.gather(*(line.submit(Question(u, c, "Why?")) for u, c in learners))
    assert [row["outcome"] for row in rows] == ["accepted"] * 6
