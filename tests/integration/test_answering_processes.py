"""Worker processes under load: kill -9 mid-call loses nothing and answers nothing twice;
SIGTERM lets running jobs finish."""

from __future__ import annotations

import signal

import asyncpg

from core.settings import Settings
from jobs.app import configured_app
from jobs.sweeper import retry_stalled_jobs
from tests.factories import create_user
from tests.integration.answering_helpers import (
    stub_control,
    stub_stats,
    submit_sql,
    wait_until,
    worker_process,
)

REQUESTS = 240


async def _conversations(db: asyncpg.Connection, user_id: str, n: int) -> list[str]:
    rows = await db.fetch(
        "INSERT INTO conversations (user_id) SELECT $1::uuid FROM generate_series(1, $2) RETURNING id::text", user_id, n
    )
    return [r["id"] for r in rows]


async def _ask_many(db, settings, n: int) -> list[str]:
    """n questions, each in a conversation of its own (so all can be in flight at once)."""
    request_ids = []
    per_user = 80  # under the paid plan's 100 an hour
    for start in range(0, n, per_user):
        user = await create_user(db, settings, plan="paid")
        for conversation in await _conversations(db, user.id, min(per_user, n - start)):
            request_ids.append(await submit_sql(db, user.id, conversation, "Is the unexamined life worth living?"))
    return request_ids


async def _count(db, status: str) -> int:
    return await db.fetchval("SELECT count(*) FROM request_queue WHERE status = $1", status)


async def test_kill_9_of_a_worker_under_load_loses_nothing_and_answers_nothing_twice(db, database_url, stub, tmp_path):
    settings = Settings(database_url=database_url)
    # Slow enough calls that all of them are in flight together, even on a busy machine
    # where the worker picks up only some tens of jobs per second.
    stub_control(stub, latency_ms=6000, latency_jitter_ms=2000)
    request_ids = await _ask_many(db, settings, REQUESTS)
    env = {"MUKTI_WORKER_CONCURRENCY": "300", "LLM_TIMEOUT": "20"}

    with worker_process(database_url, stub.base_url, tmp_path / "worker1.log", **env) as first:

        async def loaded():
            return stub_stats(stub)["in_flight"] >= 200

        await wait_until(loaded, 30, ">= 200 LLM calls in flight")
        first.send_signal(signal.SIGKILL)
        first.wait()
    in_flight_when_killed = stub_stats(stub)["in_flight"]
    assert await _count(db, "processing") >= 200
    assert in_flight_when_killed >= 200

    # Recovery: the sweeper finds the dead worker's jobs (no live worker: any stale heartbeat
    # counts), puts them back, and a new worker answers them.
    proc_app = configured_app(settings)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        async with proc_app.open_async():
            retried = await retry_stalled_jobs(proc_app, pool, seconds_since_heartbeat=0)
    finally:
        await pool.close()
    assert len(retried) >= 200
    assert await _count(db, "processing") == 0

    stub_control(stub, latency_ms=100, latency_jitter_ms=100)
    with worker_process(database_url, stub.base_url, tmp_path / "worker2.log", **env):

        async def drained():
            return await _count(db, "completed") == REQUESTS

        await wait_until(drained, 60, "every request to complete", interval=0.2)

    assert stub_stats(stub)["total"] > REQUESTS  # the killed calls were made again
    check = await db.fetchrow(
        """
        SELECT count(*) FILTER (WHERE q.status = 'completed') AS completed,
               count(*) FILTER (WHERE replies.n = 1 AND q.reply_seq = 2) AS one_reply,
               (SELECT count(*) FROM recent_messages WHERE role = 'assistant') AS assistant_messages,
               (SELECT count(*) FROM usage_events) AS usage_events,
               (SELECT sum(questions) FROM daily_usage_aggregates) AS aggregated
          FROM request_queue q
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM recent_messages m
                               WHERE m.request_id = q.id AND m.role = 'assistant') AS replies
         WHERE q.id = ANY($1::uuid[])""",
        request_ids,
    )
    assert dict(check) == {
        "completed": REQUESTS,
        "one_reply": REQUESTS,
        "assistant_messages": REQUESTS,
        "usage_events": REQUESTS,
        "aggregated": REQUESTS,
    }


async def test_sigterm_lets_running_jobs_finish(db, database_url, stub, tmp_path):
    settings = Settings(database_url=database_url)
    stub_control(stub, latency_ms=1500)
    await _ask_many(db, settings, 5)
    with worker_process(database_url, stub.base_url, tmp_path / "worker.log") as worker:

        async def all_in_flight():
            return stub_stats(stub)["in_flight"] == 5

        await wait_until(all_in_flight, 30, "5 LLM calls in flight")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    assert await _count(db, "completed") == 5
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'") == 0
