"""Worker wake-ups without a NOTIFY per question (core/database/wake.py, migration 0018):
accepting a question sends no NOTIFY of its own; the API's coalesced NOTIFY wakes an idle
worker at once; and a question whose wake-up never comes is found by the worker's poll."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import asyncpg
import pytest

from core.database.wake import JobWaker
from core.llm.stub import StubServer
from core.settings import Settings
from tests.factories import create_user
from tests.integration.answering_helpers import ask, inprocess_worker, new_learner, submit_sql, wait_until

CHANNELS = ("procrastinate_any_queue_v1", "procrastinate_queue_v1#questions")


@pytest.fixture
def settings(database_url: str, stub: StubServer) -> Settings:
    return Settings(
        database_url=database_url, llm_base_url=stub.base_url, llm_timeout=5, worker_concurrency=10, burst_limit=0
    )


class Listener:
    """LISTENs on the workers' channels; `until_sentinel()` returns what arrived before a
    sentinel NOTIFY sent after the fact (notifications arrive in commit order)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.received: list[str] = []  # "channel payload"
        self.arrived = asyncio.Event()
        self.consumed = 0

    def __call__(self, conn, pid, channel, payload) -> None:
        self.received.append(f"{channel} {payload}")
        self.arrived.set()

    async def next(self) -> str:
        await asyncio.wait_for(self.arrived.wait(), 10)
        self.arrived.clear()
        return self.received[-1]

    async def until_sentinel(self, db: asyncpg.Connection) -> list[str]:
        """What arrived since the last call, up to a sentinel NOTIFYed now."""
        start = self.consumed
        await db.execute("SELECT pg_notify($1, 'sentinel')", CHANNELS[0])
        while not any(r.endswith(" sentinel") for r in self.received[start:]):
            await self.next()
        end = next(i for i in range(start, len(self.received)) if self.received[i].endswith(" sentinel"))
        self.consumed = end + 1
        return self.received[start:end]


@pytest.fixture
async def listener(database_url: str):
    conn = await asyncpg.connect(database_url)
    listening = Listener(conn)
    for channel in CHANNELS:
        await conn.add_listener(channel, listening)
    try:
        yield listening
    finally:
        await conn.close()


async def _registered_idle_worker(db: asyncpg.Connection) -> None:
    async def registered():
        return await db.fetchval("SELECT count(*) FROM procrastinate_workers") == 1

    await wait_until(registered, 30, "the worker to register")


async def _pickup_seconds(db: asyncpg.Connection, request_id: str, timeout: float) -> float:
    async def started():
        return await db.fetchval(
            "SELECT extract(epoch FROM started_at - queued_at) FROM request_queue WHERE id = $1::uuid", request_id
        )

    return float(await wait_until(started, timeout, "the worker to pick the question up", interval=0.02))


async def test_accepting_a_question_sends_no_notify_but_other_queues_still_do(db, settings, listener):
    user = await create_user(db, settings)
    user_id = user.id
    conversation = await db.fetchval(
        "INSERT INTO conversations (user_id) VALUES ($1::uuid) RETURNING id::text", user_id
    )
    await submit_sql(db, user_id, conversation, "Is courage a kind of knowledge?")
    assert await listener.until_sentinel(db) == []
    # Procrastinate's trigger still notifies for the other queues.
    await db.execute(
        "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('webhooks', 't', 0, NULL, NULL, '{}'::jsonb, NULL)"
        "::procrastinate_job_to_defer_v1])"
    )
    assert [p for p in await listener.until_sentinel(db) if '"job_inserted"' in p]


async def test_pokes_within_the_window_send_one_notify(database_url, db, listener):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    waker = JobWaker(pool, window=0.3)
    try:
        for _ in range(50):
            waker.poke()  # after a quiet spell: sent at once
        started = time.monotonic()
        assert '"job_inserted"' in await listener.next()
        for _ in range(50):
            waker.poke()  # within the window: one NOTIFY at its end
        await listener.next()
        assert time.monotonic() - started >= 0.25
        await waker.close()
        # Two wake-ups, each on both channels (workers of all queues, of `questions`).
        assert sorted(await listener.until_sentinel(db)) == sorted(
            2 * [f'{c} {{"type": "job_inserted"}}' for c in CHANNELS]
        )
    finally:
        await pool.close()


async def test_the_api_wakes_an_idle_worker_long_before_its_poll(client, db, settings):
    slow_poll = dataclasses.replace(settings, worker_poll_interval=30.0)
    learner = await new_learner(client, db)
    async with inprocess_worker(slow_poll):
        await _registered_idle_worker(db)
        accepted = await ask(client, learner, "What is a good life?")
        assert await _pickup_seconds(db, accepted["request_id"], timeout=10) < 10


async def test_a_question_whose_wake_up_is_lost_is_picked_up_within_the_poll_interval(db, settings, listener):
    poll = 1.0
    user = await create_user(db, settings)
    conversation = await db.fetchval(
        "INSERT INTO conversations (user_id) VALUES ($1::uuid) RETURNING id::text", user.id
    )
    async with inprocess_worker(dataclasses.replace(settings, worker_poll_interval=poll)):
        await _registered_idle_worker(db)
        # Accepted without the API: no wake-up is ever sent for it (as if the NOTIFY were lost).
        request_id = await submit_sql(db, user.id, conversation, "Can virtue be taught?")
        pickup = await _pickup_seconds(db, request_id, timeout=10 * poll)
        # It really came without a NOTIFY (the worker's start defers periodic jobs of other queues).
        assert not [r for r in await listener.until_sentinel(db) if r.startswith(CHANNELS[1])]
    # Within one poll interval (plus the fetch itself, on a loaded 2-core machine).
    assert pickup <= poll + 0.5
