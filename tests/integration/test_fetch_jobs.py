"""The worker takes a job for every free slot in one statement (mukti_fetch_jobs_v1,
migration 0025; jobs/worker.py): the same jobs Procrastinate's fetch would take one call
at a time, never one job twice across workers, and a worker with free slots takes a
queued backlog in one round trip."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from procrastinate.manager import JobManager

from core.llm.stub import StubServer
from core.settings import Settings
from jobs.connector import ConnectorDb
from tests.integration.answering_helpers import inprocess_worker, wait_until

BATCH = "SELECT id FROM mukti_fetch_jobs_v1($1::varchar[], $2, $3)"
ONE = "SELECT id FROM procrastinate_fetch_job_v2($1::varchar[], $2)"


async def defer(conn: asyncpg.Connection, queue: str, priority: int, lock: str | None, *, later: bool = False) -> int:
    return await conn.fetchval(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args, scheduled_at) "
        "VALUES ($1, 'answer_question', $2, $3, '{}', CASE WHEN $4 THEN now() + interval '1 hour' END) RETURNING id",
        queue,
        priority,
        lock,
        later,
    )


async def new_worker(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")


async def mixed_queue(conn: asyncpg.Connection) -> dict[str, int]:
    """Priorities, conversations with several questions, one conversation whose question is
    running, one question for later, one job of another queue."""
    ids = {}
    for n in range(6):
        ids[f"c{n % 3}-{n // 3}"] = await defer(conn, "questions", 5, f"conversation-{n % 3}")  # 3 locks, 2 jobs each
    ids["urgent"] = await defer(conn, "questions", 10, None)
    ids["urgent-c1"] = await defer(conn, "questions", 10, "conversation-1")  # ahead of the lock's priority-5 jobs
    running = await defer(conn, "questions", 5, "conversation-busy")
    await conn.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = $1", running)
    await defer(conn, "questions", 5, "conversation-busy")  # waits for the running one
    await defer(conn, "questions", 5, None, later=True)
    await defer(conn, "titles", 0, None)
    return ids


async def test_a_fetch_takes_up_to_its_limit_in_the_queue_order_for_its_worker(db):
    ids = await mixed_queue(db)
    worker = await new_worker(db)
    taken = [r["id"] for r in await db.fetch(BATCH, ["questions"], worker, 3)]
    # The two priority-10 jobs first, then the oldest priority-5 job whose lock has no
    # job before it (conversation-1's wait behind its priority-10 job).
    assert sorted(taken) == sorted([ids["urgent"], ids["urgent-c1"], ids["c0-0"]])
    rows = await db.fetch("SELECT status, worker_id FROM procrastinate_jobs WHERE id = ANY($1::bigint[])", taken)
    assert {(r["status"], r["worker_id"]) for r in rows} == {("doing", worker)}


async def test_the_batch_takes_what_procrastinates_fetch_takes_one_call_at_a_time(db):
    await mixed_queue(db)
    worker = await new_worker(db)
    for queues in (["questions"], None):
        one_at_a_time = []
        tx = db.transaction()
        await tx.start()
        while (job := await db.fetchval(ONE, queues, worker)) is not None:
            one_at_a_time.append(job)
        await tx.rollback()
        tx = db.transaction()
        await tx.start()
        batch = [r["id"] for r in await db.fetch(BATCH, queues, worker, 100)]
        await tx.rollback()
        assert sorted(batch) == sorted(one_at_a_time) and batch, (queues, batch, one_at_a_time)
        # One job per lock, none of the busy conversation's, none for later.
        locks = await db.fetch("SELECT lock FROM procrastinate_jobs WHERE id = ANY($1::bigint[])", batch)
        named = [r["lock"] for r in locks if r["lock"] is not None]
        assert len(named) == len(set(named)) and "conversation-busy" not in named


async def test_two_workers_fetching_at_once_never_take_the_same_job(db, database_url):
    for n in range(10):
        await defer(db, "questions", 5, f"conversation-{n}")
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        worker_a, worker_b = await new_worker(db), await new_worker(db)
        async with first.transaction():
            # The first worker's rows stay locked until its commit: the second skips them
            # instead of waiting (bounded here: a wait would be a failure, not a hang).
            taken_a = [r["id"] for r in await first.fetch(BATCH, ["questions"], worker_a, 6)]
            taken_b = [r["id"] for r in await asyncio.wait_for(second.fetch(BATCH, ["questions"], worker_b, 6), 5)]
    finally:
        await first.close()
        await second.close()
    assert len(taken_a) == 6 and len(taken_b) == 4
    assert not set(taken_a) & set(taken_b)


async def test_a_limit_below_one_is_refused(db):
    worker = await new_worker(db)
    with pytest.raises(asyncpg.RaiseError, match="p_limit must be at least 1"):
        await db.fetch(BATCH, None, worker, 0)


@pytest.fixture
def settings(database_url: str, stub: StubServer) -> Settings:
    return Settings(database_url=database_url, llm_base_url=stub.base_url, llm_timeout=5, worker_concurrency=16)


async def test_a_worker_with_free_slots_takes_the_queued_jobs_in_one_fetch(db, settings, monkeypatch):
    # Questions whose requests are gone: each job ends at once ("already finished").
    queued = {
        await db.fetchval(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args) "
            "VALUES ('questions', 'answer_question', 5, $1, jsonb_build_object('request_id', $2::text)) RETURNING id",
            f"conversation-{n}",
            str(uuid.uuid4()),
        )
        for n in range(12)
    }
    fetches: list[tuple[int, set[int]]] = []
    fetch = ConnectorDb.fetch

    async def spied(self, key, /, **params):
        rows = await fetch(self, key, **params)
        if key == "worker_fetch_jobs":
            fetches.append((params["limit"], {row["id"] for row in rows}))
        return rows

    async def one_by_one(*args, **kwargs):
        raise AssertionError("the worker fetched through Procrastinate's one-job fetch")

    monkeypatch.setattr(ConnectorDb, "fetch", spied)
    monkeypatch.setattr(JobManager, "fetch_job", one_by_one)
    async with inprocess_worker(settings):
        await wait_until(
            lambda: db.fetchval(
                "SELECT NOT EXISTS (SELECT FROM procrastinate_jobs WHERE id = ANY($1::bigint[]))", queued
            ),
            10,
            "every queued job run",
        )
    limit, first = fetches[0]
    assert limit == settings.worker_concurrency  # every slot was free
    assert first >= queued, fetches
