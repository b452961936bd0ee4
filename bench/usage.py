"""Benchmark of the usage analytics: bringing the daily views up to date, the daily
matview, the analysts' example queries, and "tokens used today".

    uv run python bench/usage.py [--events 10000000] [--new 1000000] [--users 5000] [--days 60]

Phases:
  1. load: --events usage events over --days days for --users users (INSERT ... SELECT
     generate_series, one transaction per million; every outcome: ~95% answered, the rest
     failed attempts, failures, cancellations and limits) and their daily aggregates, as
     the completion function and the outcome triggers would have written them (the
     per-row triggers are off for the bulk load; their cost per event is measured apart);
     then the rollup catches up once;
  1b. analytics.daily_usage_v2 at --events / --days: closing the past days once (the
     migration's backfill), then REFRESH ... CONCURRENTLY (goal <= 2 s), and every example
     query of docs/analytics.md timed, the three slowest against the goal of 1 s each;
  2. --new more events today (and their aggregates), then the time of mukti_rollup_usage_v1,
     which brings the event-derived daily views (usage_hourly_v1, model_costs_v1) up to
     date: seconds per million new events, goal <= 1 s. daily_usage_v1 and
     monthly_billing_v1 read the aggregate directly and need no refresh; the small
     matviews (REFRESH CONCURRENTLY) are timed too, for the record;
  3. "tokens used today" (the usage_today query of GET /me/usage) for random users over
     one asyncpg connection: p50/p95/p99, goal <= 5 ms.
Uses DATABASE_URL, or (re)creates the scratch database mukti_bench_usage on 127.0.0.1:5432
and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli import migrate  # noqa: E402
from core.database.gateway import Db  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = "mukti_bench_usage"
CHUNK = 1_000_000

# Events for i in [lo, hi): spread evenly over the `span` ending now, each user's model
# fixed by their plan and the technique varying by day (as in real use: few keys per user-day).
LOAD_EVENTS = """
INSERT INTO usage_events (user_id, occurred_at, event_type, model, plan_id, technique_id, prompt_tokens,
                          completion_tokens, cost, latency_ms, error_class)
SELECT u.id,
       now() - (1 - i::float8 / %(total)s) * %(span)s::interval,
       o.event_type,
       CASE WHEN u.n %% 5 = 0 THEN 'socrates-large' ELSE 'socrates-small' END,
       CASE WHEN u.n %% 5 = 0 THEN 'paid' ELSE 'free' END,
       (ARRAY['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
              '00000000-0000-4000-8000-000000000003']::uuid[])[1 + (u.n + i / 500000) %% 3],
       o.answered * (100 + i %% 400), o.answered * (20 + i %% 150), o.answered * (i %% 1000) / 100000.0,
       CASE WHEN o.answered = 1 THEN 200 + i %% 3000 END,
       CASE WHEN o.event_type IN ('attempt_failed', 'failure') THEN 'llm_timeout' END
  FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i
  JOIN bench_users u ON u.n = i %% %(users)s
  -- Per 1,000 events: 950 answered, 30 failed attempts, 10 failures, 7 cancelled, 3 limits.
  CROSS JOIN LATERAL (SELECT CASE WHEN i %% 1000 < 950 THEN 'question' WHEN i %% 1000 < 980 THEN 'attempt_failed'
                                  WHEN i %% 1000 < 990 THEN 'failure' WHEN i %% 1000 < 997 THEN 'cancelled'
                                  ELSE 'limit_reached' END AS event_type,
                             (i %% 1000 < 950)::int AS answered) o
"""
# The per-row triggers of migration 0014 (exact cost, plan): off for bulk loads here,
# measured on their own (trigger_cost).
TRIGGERS = (("usage_events", "usage_events_fill"), ("daily_usage_aggregates", "daily_usage_aggregates_exact_cost"))

# The daily aggregates of the events with id > after, upserted as the completion function does.
AGGREGATE = """
INSERT INTO daily_usage_aggregates AS a (user_id, day, model, technique_id, questions, prompt_tokens,
                                         completion_tokens, cost, total_latency_ms)
SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date, model, technique_id, count(*), sum(prompt_tokens),
       sum(completion_tokens), sum(cost), sum(latency_ms)
  FROM usage_events WHERE id > %(after)s AND event_type = 'question'
 GROUP BY 1, 2, 3, 4
ON CONFLICT ON CONSTRAINT daily_usage_aggregates_key DO UPDATE
   SET questions = a.questions + excluded.questions, prompt_tokens = a.prompt_tokens + excluded.prompt_tokens,
       completion_tokens = a.completion_tokens + excluded.completion_tokens, cost = a.cost + excluded.cost,
       total_latency_ms = a.total_latency_ms + excluded.total_latency_ms
"""


@contextlib.contextmanager
def bench_database():
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCRATCH}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{SCRATCH}"
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{SCRATCH}" WITH (FORCE)')


def timed(conn: psycopg.Connection, sql: str, **params) -> float:
    started = time.perf_counter()
    conn.execute(sql, params)
    return time.perf_counter() - started


def max_event_id(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM usage_events").fetchone()[0]


def load(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    conn.execute("SET synchronous_commit = off")
    conn.execute("CREATE TABLE bench_users (n integer PRIMARY KEY, id uuid NOT NULL)")
    conn.execute(
        """WITH made AS (INSERT INTO users (email) SELECT 'bench-' || n || '@example.org'
                                  FROM generate_series(0, %(users)s - 1) n RETURNING id, email)
                    INSERT INTO bench_users SELECT split_part(split_part(email, '@', 1), '-', 2)::int, id FROM made""",
        {"users": args.users},
    )
    conn.execute(
        "SELECT mukti_ensure_partitions_v1('usage_events', 'day', now() - %(days)s * interval '1 day', %(days)s + 2)",
        {"days": args.days},
    )
    for table, trigger in TRIGGERS:
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    started = time.perf_counter()
    for lo in range(0, args.events, CHUNK):
        hi = min(lo + CHUNK, args.events)
        timed(conn, LOAD_EVENTS, total=args.events, span=f"{args.days} days", lo=lo, hi=hi, users=args.users)
        print(f"  loaded {hi:>11,} events  ({time.perf_counter() - started:6.1f} s)", flush=True)
    aggregate_s = timed(conn, AGGREGATE, after=0)
    rows = conn.execute("SELECT count(*) FROM daily_usage_aggregates").fetchone()[0]
    print(f"  daily aggregates: {rows:,} rows in {aggregate_s:.1f} s", flush=True)
    conn.execute("VACUUM ANALYZE usage_events, daily_usage_aggregates")


def trigger_cost(conn: psycopg.Connection, args: argparse.Namespace, n: int = 100_000) -> tuple[float, float]:
    """Seconds to insert n events without and with the per-row triggers (rolled back)."""
    times = []
    for enabled in (False, True):
        for table, trigger in TRIGGERS:
            conn.execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {trigger}")
        with contextlib.suppress(Rollback), conn.transaction():
            times.append(timed(conn, LOAD_EVENTS, total=n, span="1 hour", lo=0, hi=n, users=args.users))
            raise Rollback
    return times[0], times[1]


class Rollback(Exception):
    pass


def example_queries() -> list[str]:
    """The example queries of docs/analytics.md, in order."""
    text = (ROOT / "docs" / "analytics.md").read_text()
    block = text.split("### Example queries", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    return [q.strip() for q in block.split(";") if "SELECT" in q]


def daily_matview(conn: psycopg.Connection) -> None:
    started = time.perf_counter()
    days = 0
    while closed := conn.execute("SELECT mukti_close_usage_days_v1(7)").fetchone()[0]:
        days += closed
    close_s = time.perf_counter() - started
    print(
        f"  closing the past days (once, as migration 0014a does): {days} days in {close_s:.1f} s "
        f"({close_s / max(days, 1):.2f} s per day)"
    )
    today = conn.execute(
        "SELECT count(*) FROM usage_events WHERE occurred_at >= date_trunc('day', now(), 'UTC')"
    ).fetchone()[0]
    refresh_s = timed(conn, "REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.daily_usage_v2")
    rows = conn.execute("SELECT count(*) FROM analytics.daily_usage_v2").fetchone()[0]
    print(
        f"  REFRESH CONCURRENTLY analytics.daily_usage_v2 ({rows:,} rows; {today:,} events today read raw): "
        f"{refresh_s:.2f} s  (goal <= 2 s: {refresh_s / 2:.2f}x of goal)"
    )


def analyst_queries(conn: psycopg.Connection) -> None:
    timings = []
    for sql in example_queries():
        timings.append((timed(conn, sql), sql.splitlines()[0].lstrip("- ")[:80], sql))
    for seconds, title, _sql in timings:
        print(f"    {seconds * 1000:9.1f} ms  {title}")
    for rank, (seconds, title, _sql) in enumerate(sorted(timings, reverse=True)[:3], 1):
        print(f"  heaviest #{rank}: {seconds * 1000:.1f} ms (goal <= 1 s: {seconds:.2f}x of goal)  {title}")


def add_new_events(conn: psycopg.Connection, args: argparse.Namespace) -> float:
    """--new events in the last hour, with their aggregates; returns the insert time."""
    before = max_event_id(conn)
    started = time.perf_counter()
    conn.execute(LOAD_EVENTS, {"total": args.new, "span": "1 hour", "lo": 0, "hi": args.new, "users": args.users})
    conn.execute(AGGREGATE, {"after": before})
    return time.perf_counter() - started


def rollup(conn: psycopg.Connection) -> tuple[int, float]:
    started = time.perf_counter()
    events = conn.execute("SELECT mukti_rollup_usage_v1()").fetchone()[0]
    return events, time.perf_counter() - started


async def today_latency(url: str, users: int, samples: int) -> list[float]:
    conn = await asyncpg.connect(url)
    try:
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM bench_users")]
        # As GET /me/usage runs it: through the gateway, prepared once by asyncpg's statement cache.
        db = Db.on(conn)
        for user_id in ids[:50]:  # warm the plan and the cache
            await db.fetchrow("usage_today", user_id=user_id)
        latencies = []
        for _ in range(samples):
            user_id = random.choice(ids)
            started = time.perf_counter()
            row = await db.fetchrow("usage_today", user_id=user_id)
            latencies.append(time.perf_counter() - started)
            assert row is not None and row["questions"] >= 0
        return latencies
    finally:
        await conn.close()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--new", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--samples", type=int, default=2_000)
    args = parser.parse_args()
    total_started = time.perf_counter()
    with bench_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:  # a transaction per statement
            print(f"1. loading {args.events:,} events, {args.users:,} users, {args.days} days", flush=True)
            load(conn, args)
            caught_up, catch_up_s = rollup(conn)
            print(
                f"  first rollup (all history): {caught_up:,} events in {catch_up_s:.2f} s "
                f"({catch_up_s / (caught_up / 1e6):.2f} s per million)"
            )
            without, with_triggers = trigger_cost(conn, args)
            print(
                f"  per-row triggers (exact cost, plan): 100,000 events in {without:.2f} s without, "
                f"{with_triggers:.2f} s with = {(with_triggers - without) * 10:.1f} us per event"
            )

            print(f"1b. analytics.daily_usage_v2 at {args.events:,} events / {args.days} days")
            daily_matview(conn)
            print("  example queries of docs/analytics.md:")
            analyst_queries(conn)

            print(f"2. {args.new:,} new events")
            insert_s = add_new_events(conn, args)
            events, rollup_s = rollup(conn)
            assert events == args.new, (events, args.new)
            per_million = rollup_s / (events / 1e6)
            print(f"  inserted (with their aggregates) in {insert_s:.1f} s")
            print(
                f"  daily views up to date (mukti_rollup_usage_v1): {events:,} events in {rollup_s:.3f} s "
                f"= {per_million:.3f} s per million  (goal <= 1 s: {per_million / 1.0:.2f}x of goal)"
            )
            idle, idle_s = rollup(conn)
            print(f"  rollup with nothing new: {idle} events in {idle_s * 1000:.1f} ms")
            started = time.perf_counter()
            refreshed = conn.execute("SELECT mukti_refresh_matviews_v2()").fetchone()[0]
            print(f"  REFRESH CONCURRENTLY of the {refreshed} matviews: {time.perf_counter() - started:.2f} s")
            check = conn.execute(
                "SELECT (SELECT sum(events) FROM analytics.usage_hourly), (SELECT count(*) FROM usage_events)"
            ).fetchone()
            print(f"  rollup total {check[0]:,} = events {check[1]:,}: {check[0] == check[1]}")
            refresh_s = timed(conn, "REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.daily_usage_v2")
            print(
                f"  REFRESH CONCURRENTLY analytics.daily_usage_v2 with today's {args.new:,} extra events: "
                f"{refresh_s:.2f} s"
            )

        print(f"3. tokens used today: {args.samples:,} lookups for random users")
        latencies = asyncio.run(today_latency(url, args.users, args.samples))
        p50, p95, p99 = (pct(latencies, p) * 1000 for p in (50, 95, 99))
        print(
            f"  p50 {p50:.3f} ms  p95 {p95:.3f} ms  p99 {p99:.3f} ms  mean "
            f"{statistics.mean(latencies) * 1000:.3f} ms  (goal <= 5 ms: p99 is {p99 / 5:.2f}x of goal)"
        )
    print(f"total {time.perf_counter() - total_started:.0f} s")


if __name__ == "__main__":
    main()
