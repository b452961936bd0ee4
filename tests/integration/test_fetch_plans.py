"""The fetches of the next job stay cheap when the backlog grows under a worker session
that first fetched from an empty queue: Procrastinate's and mukti_fetch_job_v1 because they
are planned on each call, without sorts (migrations 0022, 0025); the worker's own,
mukti_fetch_job_v3 (0029, several jobs a call) and v2 before it (0028, still there for the
workers of the release before during an upgrade), with the plan the session made on the
empty queue, because no step of that plan can read the table's rows whole."""

from __future__ import annotations

import asyncpg
import pytest

BACKLOG = 1000
DEFER = (
    "SELECT procrastinate_defer_jobs_v1(ARRAY(SELECT ROW('questions', 'answer_question', 5, 'conversation-' || g, "
    "NULL, '{}'::jsonb, NULL)::procrastinate_job_to_defer_v1 FROM generate_series(1, $1) g))"
)
FETCHES = {
    "procrastinate": "SELECT id FROM procrastinate_fetch_job_v2(ARRAY['questions'], $1)",
    # A reserved slot's fetch of the backlog's own priority (5), as a worker whose highest
    # plan is the backlog's makes it.
    "reserved": "SELECT id FROM mukti_fetch_job_v1(ARRAY['questions'], $1, 5)",
    # The release before's fetch, of any priority and of a reserved slot's.
    "kept": "SELECT id FROM mukti_fetch_job_v2(ARRAY['questions'], $1, NULL)",
    "kept, reserved": "SELECT id FROM mukti_fetch_job_v2(ARRAY['questions'], $1, 5)",
    # The worker's fetch (jobs/fetch.py): a batch of any priority (its first job; the
    # batch's others are read all the same), and a reserved slot's single job.
    "batch": "SELECT id FROM mukti_fetch_job_v3(ARRAY['questions'], $1, NULL, 4)",
    "batch, reserved": "SELECT id FROM mukti_fetch_job_v3(ARRAY['questions'], $1, 5, 1)",
}


@pytest.mark.parametrize("fetch", FETCHES)
async def test_a_worker_session_that_planned_on_an_empty_queue_fetches_without_reading_the_backlog(
    db, database_url, fetch
):
    query = FETCHES[fetch]
    # An autoanalyze of the backlog would have the session plan again, and hide a bad plan.
    await db.execute("ALTER TABLE procrastinate_jobs SET (autovacuum_enabled = off)")
    await db.execute("VACUUM ANALYZE procrastinate_jobs")
    early = await asyncpg.connect(database_url)
    try:
        worker_id = await early.fetchval("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
        for _ in range(10):  # past the plan cache's five custom plans (v2's is generic at once)
            assert await early.fetchval(query, worker_id) is None
        await db.execute(DEFER, BACKLOG)  # each job with a lock of its own, as questions have

        async with early.transaction():
            fetched = [await early.fetchval(query, worker_id) for _ in range(5)]
            read = await early.fetchval(
                "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
                "WHERE relname = 'procrastinate_jobs'"
            )
    finally:
        await early.close()
    assert None not in fetched and len(set(fetched)) == 5
    # A plan kept from the empty table reads every queued job for each fetch (5 x ~2,000).
    assert read < 200, f"{read} rows of procrastinate_jobs read for 5 fetches from a backlog of {BACKLOG}"
