"""Benchmark: does accepting a question cost more on a database with a long history?

    uv run python bench/aged.py [--requests 1000000] [--rate-limits 10000000] [--seconds 10]

pgbench of the submit SQL (bench/ask.py's script and users) on a fresh database, then on
the same database after loading history behind it: `--requests` completed requests and
`--rate-limits` expired rate-limit rows (spread over the last 30 days over the bench's
users, as the accept path writes them), vacuumed and analyzed as autovacuum would leave
them. Prints both rates and their ratio (goal: within 10%) and the sizes loaded. Each
run starts with no questions queued and after a CHECKPOINT (`--rounds` of each,
averaged); between the aged runs only what a run added is removed, the history stays.
Uses DATABASE_URL or a scratch database.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ask import CONVERSATION_ID, SUBMIT, USER_ID, arrange, empty_queue, pgbench  # noqa: E402
from bench.common import scratch_database  # noqa: E402

WARM_UP = 5  # seconds of pgbench after each CHECKPOINT, before the measured run


def load_history(url: str, users: int, requests: int, rate_limits: int) -> None:
    """History rows by INSERT ... SELECT; foreign keys are not checked for the load
    (session_replication_role = replica): every id named exists."""
    u, c = USER_ID.format(n="(1 + mod(g, %(users)s))"), CONVERSATION_ID.format(n="(1 + mod(g, %(users)s))")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute(
            f"""INSERT INTO rate_limits (action, subject, user_id, hit_at, expires_at)
                SELECT 'question', {u}::text, {u}, t, t + interval '1 day'
                  FROM generate_series(1, %(n)s) g,
                       LATERAL (SELECT now() - interval '30 days' + g * (interval '29 days' / %(n)s)) h(t)""",
            {"users": users, "n": rate_limits},
        )
        conn.execute(
            f"""INSERT INTO request_queue (user_id, conversation_id, message_seq, plan_id, model, priority,
                                           status, attempts, queued_at, started_at, completed_at, reply_seq,
                                           prompt_tokens, completion_tokens)
                SELECT {u}, {c}, 2 * (g / %(users)s) + 1, 'bench', 'gpt-4o-mini', 5, 'completed', 1,
                       t, t + interval '1 second', t + interval '3 seconds', 2 * (g / %(users)s) + 2, 100, 40
                  FROM generate_series(1, %(n)s) g,
                       LATERAL (SELECT now() - interval '30 days' + g * (interval '29 days' / %(n)s)) h(t)""",
            {"users": users, "n": requests},
        )
        # The conversations carry on after their history (seq is unique per conversation).
        conn.execute(
            "UPDATE conversations SET message_count = 2 * (%(n)s / %(users)s) + 2,"
            " archived_count = 2 * (%(n)s / %(users)s) + 2",
            {"users": users, "n": requests},
        )
        conn.execute("VACUUM ANALYZE rate_limits, request_queue, conversations")
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('rate_limits')),"
            " pg_size_pretty(pg_total_relation_size('request_queue'))"
        ).fetchone()
    print(
        f"history: {requests:,} completed requests ({sizes[1]}), {rate_limits:,} rate-limit rows ({sizes[0]}), "
        f"loaded in {time.perf_counter() - started:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--rate-limits", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--pgbench-clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="pgbench runs of each, averaged")
    args = parser.parse_args()
    with scratch_database("aged") as url:
        arrange(url, args.users)
        fresh = measure(url, args, "fresh", empty_queue)
        empty_queue(url)
        load_history(url, args.users, args.requests, args.rate_limits)
        messages = 2 * (args.requests // args.users) + 2
        aged = measure(url, args, "aged", lambda url: undo_run(url, messages))
        print(f"aged / fresh: {aged / fresh:.2f} (goal: within 10%, >= 0.90)")


def undo_run(url: str, messages: int) -> None:
    """What a pgbench run added to the aged database, and nothing of its history, gone: the
    history's requests are all completed and its rate-limit hits all over a day old, while
    a run's questions are pending and its hits new; the history has no recent messages."""
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("DELETE FROM procrastinate_jobs")
            conn.execute("DELETE FROM request_queue WHERE status <> 'completed'")
            conn.execute("DELETE FROM rate_limits WHERE hit_at > now() - interval '1 day'")
            conn.execute("DELETE FROM recent_messages")
            conn.execute("UPDATE conversations SET message_count = %(m)s, archived_count = %(m)s", {"m": messages})
            conn.execute("UPDATE subscriptions SET questions_this_hour = 0, questions_today = 0")
        conn.execute("VACUUM ANALYZE")
        kept = conn.execute(
            "SELECT (SELECT count(*) FROM request_queue), (SELECT count(*) FROM rate_limits)"
        ).fetchone()
    print(f"(history kept: {kept[0]:,} requests, {kept[1]:,} rate-limit rows)")


def measure(url: str, args: argparse.Namespace, label: str, reset: Callable[[str], None]) -> float:
    """The mean of `args.rounds` pgbench runs, each after `reset` (what the last run added
    gone), a CHECKPOINT and a warm-up. The CHECKPOINT: the aged runs must not pay for
    writing out the gigabytes just loaded (nor the fresh ones for the database just
    created), which no steady state does. The warm-up (printed, not counted): the first
    change of each page after a checkpoint writes the whole page to the WAL, and the pages
    an accept changes are one per user in each per-user index, many more in the aged
    database than in the fresh one; between checkpoints minutes apart that is paid once
    per page and interval, not in every 10 s, so the measured run is the steady state.
    Each run prints its WAL per call (records, full-page images, bytes)."""
    rates = []
    for _ in range(args.rounds):
        reset(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            run(conn, url, args, WARM_UP, f"{label}, warm-up after the checkpoint, not counted")
            rates.append(run(conn, url, args, args.seconds, f"{label}: {SUBMIT}"))
    return sum(rates) / len(rates)


def run(conn: psycopg.Connection, url: str, args: argparse.Namespace, seconds: int, label: str) -> float:
    """pgbench's calls/s for `seconds`, printing the WAL it wrote per accepted question."""

    def counters() -> tuple[int, int, int, int]:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM request_queue WHERE status = 'pending'), wal_records, wal_fpi, wal_bytes "
            "FROM pg_stat_wal"
        ).fetchone()
        assert row is not None
        return row

    calls0, records0, fpi0, bytes0 = counters()
    rate = pgbench(url, args.users, seconds, args.pgbench_clients, label=label)
    calls1, records1, fpi1, bytes1 = counters()
    calls = max(calls1 - calls0, 1)
    print(
        f"    WAL per call: {(records1 - records0) / calls:.1f} records, {(fpi1 - fpi0) / calls:.2f} full-page "
        f"images, {(bytes1 - bytes0) / calls:,.0f} bytes"
    )
    return rate


if __name__ == "__main__":
    main()
