"""Start batches (jobs/starts.py, mukti_start_attempts_v1): attempts a worker starts while
its start sender is busy are taken together, in one transaction, each exactly as
mukti_start_attempt_v1 takes it alone; a refused batch is started attempt by attempt.
(The line's other rules, shared with the accept batches, are tested there:
tests/integration/test_accept_batches.py.)"""

from __future__ import annotations

import asyncio
import json
from typing import NamedTuple

import asyncpg
import pytest

from core.database.gateway import Db
from core.settings import Settings
from jobs.resources import open_resources
from jobs.starts import Start, StartBatches
from tests.factories import create_user
from tests.integration.answering_helpers import submit_sql
from tests.integration.conversations_support import assert_consistent, create_conversation


class Asked(NamedTuple):
    user_id: str
    request_id: str


async def _asked(db: asyncpg.Connection, settings: Settings, users: int, per_user: int = 1) -> list[Asked]:
    """users x per_user pending questions, each in a conversation of its own."""
    asked = []
    for n in range(users):
        user = await create_user(db, settings, plan="paid")
        for _ in range(per_user):
            conversation = await create_conversation(db, user.id)
            asked.append(Asked(user.id, await submit_sql(db, user.id, conversation, f"Is virtue {n} a habit?")))
    return asked


def _arrays(starts: list[Asked]) -> dict[str, list[str]]:
    return {"request_ids": [s.request_id for s in starts], "user_ids": [s.user_id for s in starts]}


async def _statuses(db: asyncpg.Connection, asked: list[Asked]) -> list[tuple[str, int]]:
    rows = {
        str(r["id"]): (r["status"], r["attempts"])
        for r in await db.fetch(
            "SELECT id, status, attempts FROM request_queue WHERE id = ANY($1::uuid[])", [a.request_id for a in asked]
        )
    }
    return [rows[a.request_id] for a in asked]


class Line:
    """A start line, and the batches it reported."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 16) -> None:
        self.reported: list[tuple[str, int]] = []
        self.line = StartBatches(Db(pool), max_batch=max_batch, patience=5, on_batch=lambda *b: self.reported.append(b))

    async def start(self, asked: Asked) -> asyncpg.Record:
        return await self.line.submit(Start(request_id=asked.request_id, user_id=asked.user_id))


async def test_one_call_starts_several_users_attempts_in_one_transaction_each_as_alone(db, settings, pool):
    a1, a2, b1 = await _asked(db, settings, 1, per_user=2) + await _asked(db, settings, 1)
    # b's second question, cancelled while it was pending: it is finished, not started.
    cancelled = Asked(
        b1.user_id, await submit_sql(db, b1.user_id, await create_conversation(db, b1.user_id), "And courage?")
    )
    await db.execute("SELECT * FROM mukti_cancel_request_v1($1::uuid, $2::uuid)", b1.user_id, cancelled.request_id)
    # a naming b's request: hidden by Row-Level Security, as it would be alone.
    stranger = Asked(a1.user_id, b1.request_id)
    starts = [b1, a1, cancelled, a2, stranger]

    # One transaction for all: rolled back, none of it stays.
    async with pool.acquire() as conn:
        rolled_back = conn.transaction()
        await rolled_back.start()
        await Db.on(conn).fetch("answering_start_attempts", **_arrays(starts))
        await rolled_back.rollback()
    assert await _statuses(db, [a1, a2, b1]) == [("pending", 0)] * 3

    seen: list[str] = []
    got_all = asyncio.Event()

    def heard(_conn, _pid, _channel, payload: str) -> None:
        seen.extend(request_id for request_id, kind in json.loads(payload) if kind == "s")
        if len(seen) >= 3:
            got_all.set()

    await db.add_listener("mukti_stream", heard)
    try:
        rows = await Db(pool).fetch("answering_start_attempts", **_arrays(starts))
        # Live viewers are told of each start, at the batch's commit.
        await asyncio.wait_for(got_all.wait(), 10)
    finally:
        await db.remove_listener("mukti_stream", heard)

    assert [r["item"] for r in rows] == [1, 2, 3, 4, 5]
    started = {r["item"]: r for r in rows if r["request_id"] is not None}
    assert sorted(started) == [1, 2, 4]
    for item, asked in ((1, b1), (2, a1), (4, a2)):
        row = started[item]
        assert (str(row["request_id"]), row["user_id"], row["attempts"]) == (asked.request_id, asked.user_id, 1)
        assert [m["content"] for m in json.loads(row["messages"])] == [
            await db.fetchval("SELECT content FROM recent_messages WHERE request_id = $1::uuid", asked.request_id)
        ]
    # The finished request and the stranger's: not held, every other column NULL, as the
    # single call's "no row".
    for item in (3, 5):
        assert {k: v for k, v in dict(rows[item - 1]).items() if v is not None} == {"item": item, "held": False}
    # b's request was started once, by b's item; the stranger's item did not take it again.
    assert await _statuses(db, [b1, a1, a2, cancelled]) == [("processing", 1)] * 3 + [("cancelled", 0)]
    assert sorted(seen) == sorted([b1.request_id, a1.request_id, a2.request_id])
    # The pending counts moved with the rows, in the batch's own slot (64-127), which no
    # single call (a cancel, an accept) counts in.
    assert await db.fetchval("SELECT sum(pending) FROM request_queue_pending_counts WHERE slot >= 64") == -3
    await assert_consistent(db)


async def test_a_scoped_transaction_the_service_role_and_arrays_of_different_lengths_are_refused(db, settings, pool):
    (asked,) = await _asked(db, settings, 1)
    batch = _arrays([asked])
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be neither scoped nor the service role"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('mukti.user_id', $1, true)", asked.user_id)
                await Db.on(conn).fetch("answering_start_attempts", **batch)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be neither scoped nor the service role"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('role', 'mukti_service', true)")
                await Db.on(conn).fetch("answering_start_attempts", **batch)
        with pytest.raises(asyncpg.InvalidParameterValueError, match="of one length"):
            await Db.on(conn).fetch("answering_start_attempts", **{**batch, "user_ids": [asked.user_id] * 2})
        with pytest.raises(asyncpg.InvalidParameterValueError, match="at most 100 starts"):
            await Db.on(conn).fetch("answering_start_attempts", **_arrays([asked] * 101))
        assert await _statuses(db, [asked]) == [("pending", 0)]
        # Called inside a transaction: the item's scope and the batch's slot end with the call.
        async with conn.transaction():
            assert (await Db.on(conn).fetch("answering_start_attempts", **batch))[0]["attempts"] == 1
            assert await conn.fetchval("SELECT current_setting('mukti.user_id', true)") == ""
            assert await conn.fetchval("SELECT current_setting('mukti.pending_slot', true)") == ""
    assert await _statuses(db, [asked]) == [("processing", 1)]


async def test_starts_that_queue_for_the_sender_go_together(db, settings, pool):
    asked = await _asked(db, settings, 5, per_user=4)
    line = Line(pool)

    rows = await asyncio.gather(*(line.start(a) for a in asked))

    assert [(str(r["request_id"]), r["attempts"]) for r in rows] == [(a.request_id, 1) for a in asked]
    # The first start found the sender free and took the others along: batches of at most 16.
    assert line.reported == [("committed", 16), ("committed", 4)]
    assert await _statuses(db, asked) == [("processing", 1)] * 20
    await assert_consistent(db)


async def test_a_refused_batch_is_started_attempt_by_attempt(db, settings, pool):
    asked = await _asked(db, settings, 4)
    line = Line(pool)
    # An owner that is no uuid cannot be sent: the whole batch is refused; sent alone, the
    # others start and it gets its own error.
    broken = Asked("not-a-user", asked[2].request_id)

    results = await asyncio.gather(*(line.start(a) for a in [*asked[:2], broken, asked[3]]), return_exceptions=True)

    assert isinstance(results[2], asyncpg.DataError), results[2]
    assert [r["attempts"] for i, r in enumerate(results) if i != 2] == [1, 1, 1]
    assert line.reported == [("sent_alone", 4)]
    assert await _statuses(db, asked) == [("processing", 1)] * 2 + [("pending", 0), ("processing", 1)]
    await assert_consistent(db)


async def test_a_start_whose_row_is_locked_elsewhere_is_left_for_later_and_the_others_start(
    db, settings, pool, database_url
):
    asked = await _asked(db, settings, 4)
    line = Line(pool)
    holder = await asyncpg.connect(database_url)
    try:
        # A cancel or an operator's transaction holding one request's row.
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1 FROM request_queue WHERE id = $1::uuid FOR UPDATE", asked[1].request_id)
        starts = [asyncio.create_task(line.start(a)) for a in asked]
        others = [t for i, t in enumerate(starts) if i != 1]
        await asyncio.wait_for(asyncio.gather(*others), 10)  # not held up by the locked row
        assert not starts[1].done()
        assert ("held", 1) in line.reported
        assert await _statuses(db, asked) == [("processing", 1), ("pending", 0), ("processing", 1), ("processing", 1)]
        await holder.execute("ROLLBACK")
        # Back in the line a little later, it starts once the row is free.
        row = await asyncio.wait_for(starts[1], 10)
    finally:
        await holder.close()
    assert (str(row["request_id"]), row["attempts"], row["held"]) == (asked[1].request_id, 1, False)
    assert await _statuses(db, asked) == [("processing", 1)] * 4
    await assert_consistent(db)


async def test_a_worker_refuses_to_run_on_a_database_without_start_batches(db, settings):
    await db.execute("DROP FUNCTION mukti_start_attempts_v1(uuid[], uuid[])")
    unmigrated = Settings(database_url=settings.database_url, llm_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(RuntimeError, match=r"run the migrations first \(mukti migrate\)"):
        async with open_resources(unmigrated):
            pass
