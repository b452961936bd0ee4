"""Benchmark: does accepting a question cost more on a database with a long history?

    uv run python bench/aged.py [--requests 1000000] [--rate-limits 10000000] [--seconds 10]

pgbench of the submit SQL (bench/ask.py's script and users) on two databases side by side:
a fresh one, and one with history loaded behind the same users: `--requests` completed
requests and `--rate-limits` expired rate-limit rows (spread over the last 30 days over
the bench's users, as the accept path writes them), vacuumed and analyzed as autovacuum
would leave them. The runs alternate between the two (`--rounds` of each: fresh then aged,
then aged then fresh, ...), so that a box whose speed drifts within minutes (these virtual
machines: ±20 % in five minutes, measured) weighs on both alike; until 4 December all
fresh runs came first, then all aged ones. Prints each round's pair and ratio, the means
and their ratio (goal: within 10%), and the sizes loaded. Each run starts with no
questions queued and after a CHECKPOINT; between the aged runs only what a run added is
removed, the history stays. `--fresh-requests N` gives the fresh side a history of its
own, N requests and 10 N rate-limit rows, to tell a cost that grows with the history from
one that an empty database alone is spared. Uses two scratch databases on 127.0.0.1:5432
(DATABASE_URL is not used: the benchmark needs two databases of its own).
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
from bench.common import box_speed, scratch_database  # noqa: E402

WARM_UP = 5  # seconds of pgbench after each CHECKPOINT, before the measured run


def load_history(url: str, users: int, requests: int, rate_limits: int) -> Callable[[str], None]:
    """History rows by INSERT ... SELECT; foreign keys are not checked for the load
    (session_replication_role = replica): every id named exists. Either count may be 0
    (`--rate-limits 0`: a history of requests only). Returns the reset between its runs
    (undo_run, the conversations back to where their history left them)."""
    u, c = USER_ID.format(n="(1 + mod(g, %(users)s))"), CONVERSATION_ID.format(n="(1 + mod(g, %(users)s))")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute(
            f"""INSERT INTO rate_limits (action, subject, user_id, hit_at, expires_at)
                SELECT 'question', {u}::text, {u}, t, t + interval '1 day'
                  FROM generate_series(1, %(n)s) g,
                       LATERAL (SELECT now() - interval '30 days' + g * (interval '29 days' / greatest(%(n)s, 1))) h(t)""",
            {"users": users, "n": rate_limits},
        )
        conn.execute(
            f"""INSERT INTO request_queue (user_id, conversation_id, message_seq, plan_id, model, priority,
                                           status, attempts, queued_at, started_at, completed_at, reply_seq,
                                           prompt_tokens, completion_tokens)
                SELECT {u}, {c}, 2 * (g / %(users)s) + 1, 'bench', 'gpt-4o-mini', 5, 'completed', 1,
                       t, t + interval '1 second', t + interval '3 seconds', 2 * (g / %(users)s) + 2, 100, 40
                  FROM generate_series(1, %(n)s) g,
                       LATERAL (SELECT now() - interval '30 days' + g * (interval '29 days' / greatest(%(n)s, 1))) h(t)""",
            {"users": users, "n": requests},
        )
        # The conversations carry on after their history (seq is unique per conversation).
        messages = 2 * (requests // users) + 2
        conn.execute("UPDATE conversations SET message_count = %(m)s, archived_count = %(m)s", {"m": messages})
        conn.execute("VACUUM ANALYZE rate_limits, request_queue, conversations")
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('rate_limits')),"
            " pg_size_pretty(pg_total_relation_size('request_queue'))"
        ).fetchone()
    print(
        f"history: {requests:,} completed requests ({sizes[1]}), {rate_limits:,} rate-limit rows ({sizes[0]}), "
        f"loaded in {time.perf_counter() - started:.0f} s"
    )
    return lambda url: undo_run(url, messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--rate-limits", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--pgbench-clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4, help="pgbench runs of each, alternating, averaged")
    parser.add_argument(
        "--fresh-requests",
        type=int,
        default=0,
        help="history of the 'fresh' side too (0: none, the goal's fresh database); its rate-limit rows: ten times as many",
    )
    args = parser.parse_args()
    print(box_speed())
    with scratch_database("aged_fresh", own=True) as fresh_url, scratch_database("aged", own=True) as aged_url:
        for url in (fresh_url, aged_url):
            arrange(url, args.users)
        reset_aged = load_history(aged_url, args.users, args.requests, args.rate_limits)
        reset_fresh = (
            load_history(fresh_url, args.users, args.fresh_requests, 10 * args.fresh_requests)
            if args.fresh_requests
            else empty_queue
        )
        sides = [("fresh", fresh_url, reset_fresh), ("aged", aged_url, reset_aged)]
        rates: dict[str, list[float]] = {"fresh": [], "aged": []}
        for n in range(args.rounds):
            for label, url, reset in sides if n % 2 == 0 else reversed(sides):
                rates[label].append(measure(url, args, label, reset))
            print(
                f"round {n + 1}: fresh {rates['fresh'][-1]:,.0f}/s, aged {rates['aged'][-1]:,.0f}/s: "
                f"{rates['aged'][-1] / rates['fresh'][-1]:.2f}"
            )
        fresh, aged = (sum(r) / len(r) for r in (rates["fresh"], rates["aged"]))
        print(
            f"means: fresh {fresh:,.0f}/s, aged {aged:,.0f}/s; aged / fresh: {aged / fresh:.2f} "
            "(goal: within 10%, >= 0.90)"
        )


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
    """One pgbench run's calls/s, after `reset` (what the last run added gone), a
    CHECKPOINT and a warm-up. The CHECKPOINT: the aged runs must not pay for
    writing out the gigabytes just loaded (nor the fresh ones for the database just
    created), which no steady state does. The warm-up (printed, not counted): the first
    change of each page after a checkpoint writes the whole page to the WAL, and the pages
    an accept changes are one per user in each per-user index, many more in the aged
    database than in the fresh one; between checkpoints minutes apart that is paid once
    per page and interval, not in every 10 s, so the measured run is the steady state.
    Each run prints its WAL per call (records, full-page images, bytes)."""
    reset(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        run(conn, url, args, WARM_UP, f"{label}, warm-up after the checkpoint, not counted")
        return run(conn, url, args, args.seconds, f"{label}: {SUBMIT}")


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
