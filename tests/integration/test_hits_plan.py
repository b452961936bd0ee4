"""The limits' count of every accept (mukti_question_hits_v1) is made with one plan per
session (migration 0030: planned again on each call, it cost an accept more on a database
whose rate-limit rows lie mostly outside the day's window), and that plan reads the
window's rows only, also where one user's history fills the table: without sequential
scans, which the generic plan would otherwise choose there."""

from __future__ import annotations

import asyncpg

HITS = "SELECT n_day, n_hour, n_burst FROM mukti_question_hits_v1($1, $2, interval '10 seconds')"


async def test_the_limits_count_is_planned_once_and_reads_only_the_window_of_a_long_history(db, database_url):
    config = await db.fetchval("SELECT proconfig FROM pg_proc WHERE proname = 'mukti_question_hits_v1'")
    assert sorted(config) == ["enable_seqscan=off", "plan_cache_mode=force_generic_plan"]
    # One user's 300,000 hits of five weeks fill the table, 3 of them within the last day
    # (one within the hour, one within the burst window) of a fixed moment, so that a slow
    # machine does not move the windows; autovacuum must not change the plan.
    at = await db.fetchval("SELECT now()")
    await db.execute("ALTER TABLE rate_limits SET (autovacuum_enabled = off)")
    await db.execute(
        """INSERT INTO rate_limits (action, subject, hit_at, expires_at)
           SELECT 'question', 'lone', t, t + interval '1 day'
             FROM generate_series(1, 300000) g, LATERAL (SELECT $1::timestamptz - interval '36 days' + g * interval '10 seconds') h(t)
            WHERE t < $1::timestamptz - interval '1 day'
           UNION ALL
           SELECT 'question', 'lone', $1::timestamptz - d, $1::timestamptz - d + interval '1 day'
             FROM unnest(ARRAY[interval '5 hours', interval '30 minutes', interval '2 seconds']) d""",
        at,
    )
    await db.execute("ANALYZE rate_limits")  # not vacuumed: no page all-visible yet
    session = await asyncpg.connect(database_url)
    try:
        for _ in range(10):  # past the plan cache's five custom plans
            assert tuple(await session.fetchrow(HITS, "lone", at)) == (3, 2, 1)
        async with session.transaction():
            assert tuple(await session.fetchrow(HITS, "lone", at)) == (3, 2, 1)
            seq_scans, seq_read = await session.fetchrow(
                "SELECT seq_scan, seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = 'rate_limits'"
            )
    finally:
        await session.close()
    assert (seq_scans, seq_read) == (0, 0), f"the count read rate_limits whole: {seq_read} rows"
