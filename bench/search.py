"""Benchmark: full-text search and history paging over 5 million archived messages.

Loads 5,000,000 archived messages over 24 monthly partitions for 10,000 users (one of
them with 100,000 messages in ten 10,000-message conversations) with COPY from two
processes, then times GET /search and GET /conversations/{id}/messages at the service
level (the same code and queries as the API, without HTTP) and prints p50/p95 and the
EXPLAIN (ANALYZE, BUFFERS) of both queries.

    uv run python bench/search.py [--keep] [--messages N] [--months-compare M]

--months-compare M: after the run at the loaded partition count (24 months of data and
the schema's own partitions: 28), adds empty older months up to M partitions (ten years:
120) and times the heavy user's search again, with the bounded search (only the user's
months, search_archive_span) and with the bound lifted to (-infinity, infinity), which is
the search before migration 0018 (every partition planned and probed); prints both side
by side and the 120-vs-28 p95 ratios.

Uses DATABASE_URL, or creates the scratch database `mukti_bench_search` on
127.0.0.1:5432 (dropped at the end unless --keep; a kept database is reused as is).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.conversations import service as history  # noqa: E402
from api.search import service  # noqa: E402
from cli import migrate  # noqa: E402
from core.database.gateway import Db  # noqa: E402
from core.database.queries import QUERIES  # noqa: E402
from core.database.replica import ReadRouter  # noqa: E402
from core.settings import Settings  # noqa: E402

SCRATCH = "mukti_bench_search"
SERVER = "postgresql://postgres@127.0.0.1:5432"
USERS = 10_000
HEAVY_CONVERSATIONS, HEAVY_DEPTH = 10, 10_000
RECENT = 50
MONTHS = 24
VOCABULARY = 20_000
SEED = 6
# A created_at range that prunes no partition: the search as it was before migration 0018.
BEFORE, AFTER = "before (all partitions)", "after (user's months)"
EVERYTHING = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))

# Secondary indexes built after the load, two at a time (archived_messages' per partition,
# then attached by re-creating the parent index): the schema's definitions, names and all.
DEFERRED_INDEXES = {
    "archived_messages_user_idx": "(user_id, created_at)",
    "archived_messages_search_idx": "USING gin (search)",
    "archived_messages_scoped_search_idx": "USING gin (mukti_scoped_tsvector_v1(search, user_id))",
}
DEFERRED_RECENT_INDEXES = {
    "recent_messages_user_idx": "(user_id)",
    "recent_messages_search_idx": "USING gin (search)",
    "recent_messages_scoped_search_idx": "USING gin (mukti_scoped_tsvector_v1(search, user_id))",
}


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Pronounceable pseudo-words with Zipf frequencies (s = 1), most frequent first."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    cumulative, total = [], 0.0
    for rank in range(1, VOCABULARY + 1):
        total += 1 / rank
        cumulative.append(total)
    return words, cumulative


def plan_conversations(total: int, rng: random.Random) -> tuple[list[str], str, list[tuple[str, str, int]]]:
    """(user ids, the heavy user's id, [(conversation id, user id, archived messages)])."""
    users = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(USERS)]
    heavy = users[0]
    conversations = [
        (str(uuid.UUID(int=rng.getrandbits(128), version=4)), heavy, HEAVY_DEPTH) for _ in range(HEAVY_CONVERSATIONS)
    ]
    rest = total - HEAVY_CONVERSATIONS * HEAVY_DEPTH
    typical = len(users) - 1
    counts = [rng.randint(1, 3) for _ in range(typical)]  # uneven users, one conversation each
    scale = rest / sum(counts)
    sizes = [max(1, int(c * scale)) for c in counts]
    sizes[-1] += rest - sum(sizes)
    conversations += [
        (str(uuid.UUID(int=rng.getrandbits(128), version=4)), user, size)
        for user, size in zip(users[1:], sizes, strict=True)
    ]
    return users, heavy, conversations


def load_part(url: str, conversations: list[tuple[str, str, int]], window: tuple[float, float], seed: int) -> None:
    """COPY the archived and recent messages of `conversations` (one worker process)."""
    rng = random.Random(seed)
    words, cumulative = vocabulary(random.Random(SEED))
    start, end = window
    span = end - start
    fmt = "%Y-%m-%d %H:%M:%S+00"
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        archived_sql = "COPY archived_messages (conversation_id, seq, user_id, role, content, created_at) FROM STDIN"
        recent_sql = "COPY recent_messages (conversation_id, seq, user_id, role, content, created_at) FROM STDIN"
        for batch_start in range(0, len(conversations), 500):
            batch = conversations[batch_start : batch_start + 500]
            archived: list[str] = []
            recent: list[str] = []
            for conversation_id, user_id, n in batch:
                # Every conversation spreads over 30-100% of the window: many partitions.
                step = span * rng.uniform(0.3, 0.99) / (n + RECENT)
                t = start + rng.uniform(0, span - step * (n + RECENT))
                for seq in range(1, n + RECENT + 1):
                    text = " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(6, 24)))
                    role = "user" if seq % 2 else "assistant"
                    stamp = time.strftime(fmt, time.gmtime(t if seq <= n else end + seq))
                    (archived if seq <= n else recent).append(
                        f"{conversation_id}\t{seq}\t{user_id}\t{role}\t{text}\t{stamp}\n"
                    )
                    t += step
            with conn.cursor() as cur:
                with cur.copy(archived_sql) as copy:
                    copy.write("".join(archived))
                with cur.copy(recent_sql) as copy:
                    copy.write("".join(recent))
            conn.commit()


def build_indexes(url: str, statements: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '400MB'")
        for statement in statements:
            conn.execute(statement)


def _in_parallel(processes: list[multiprocessing.Process], failure: str) -> None:
    """Run the processes together to the end; one that fails stops the benchmark."""
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(failure)


def load(url: str, total: int) -> tuple[str, list[str]]:
    rng = random.Random(SEED)
    users, heavy, conversations = plan_conversations(total, rng)
    with psycopg.connect(url, autocommit=True) as conn:
        window_end = conn.execute("SELECT extract(epoch FROM date_trunc('month', now()))").fetchone()[0]
        window_start = conn.execute(
            "SELECT extract(epoch FROM date_trunc('month', now()) - interval '24 months')"
        ).fetchone()[0]
        conn.execute(
            "SELECT mukti_ensure_partitions_v1('archived_messages', 'month', to_timestamp(%s), %s)",
            (window_start, MONTHS),
        )
        for name in [*DEFERRED_INDEXES, *DEFERRED_RECENT_INDEXES]:
            conn.execute(f"DROP INDEX {name}")
        with conn.cursor() as cur:
            with cur.copy("COPY users (id, email) FROM STDIN") as copy:
                for user in users:
                    copy.write_row((user, f"{user}@bench.example"))
            with cur.copy("COPY conversations (id, user_id, message_count, archived_count) FROM STDIN") as copy:
                for conversation_id, user_id, n in conversations:
                    copy.write_row((conversation_id, user_id, n + RECENT, n))
    started = time.perf_counter()
    rng.shuffle(conversations)
    window = (float(window_start), float(window_end) - 86_400)
    _in_parallel(
        [
            multiprocessing.Process(target=load_part, args=(url, conversations[i::2], window, SEED + i))
            for i in range(2)
        ],
        "a loader process failed",
    )
    copied = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        partitions = [
            r[0]
            for r in conn.execute(
                "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'archived_messages'::regclass"
                " ORDER BY pg_relation_size(inhrelid) DESC"
            )
        ]
    indexing = time.perf_counter()
    statements = [
        f"CREATE INDEX {name} ON recent_messages {definition}" for name, definition in DEFERRED_RECENT_INDEXES.items()
    ]
    statements += [
        f"CREATE INDEX ON {partition} {definition}"
        for partition in partitions
        for definition in DEFERRED_INDEXES.values()
    ]
    _in_parallel(
        [multiprocessing.Process(target=build_indexes, args=(url, statements[i::2])) for i in range(2)],
        "an index builder failed",
    )
    with psycopg.connect(url, autocommit=True) as conn:
        for name, definition in DEFERRED_INDEXES.items():  # attaches the partitions' indexes, builds nothing
            conn.execute(f"CREATE INDEX {name} ON archived_messages {definition}")
        conn.execute("VACUUM ANALYZE archived_messages, recent_messages, archived_message_months, conversations")
    print(
        f"loaded {total:,} archived messages ({len(conversations):,} conversations, {USERS:,} users, "
        f"{len(partitions)} partitions): COPY {copied:.0f} s, indexes + analyze "
        f"{time.perf_counter() - indexing:.0f} s, total {time.perf_counter() - started:.0f} s"
    )
    return heavy, users


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def latencies(calls) -> list[float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def timed(label: str, calls, goal_p50: float | None, goal_p95: float) -> None:
    times = await latencies(calls)
    p50, p95 = statistics.median(times), percentile(times, 95)
    goals = (
        f"goal p50 <= {goal_p50:.0f} ms: {p50 / goal_p50:.2f}x, " if goal_p50 else ""
    ) + f"goal p95 <= {goal_p95:.0f} ms: {p95 / goal_p95:.2f}x"
    print(f"{label:<42} n={len(times):<4} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  max {max(times):7.2f} ms  ({goals})")


async def measure(url: str, heavy: str, users: list[str]) -> None:
    rng = random.Random(SEED + 1)
    words, _ = vocabulary(random.Random(SEED))
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    # No replica: the primary; as the service role (the benchmark reads every user's messages).
    db = Db(pool, router=ReadRouter(Settings(database_url=url), pool, None)).as_service("bench/search.py")
    conn = await asyncpg.connect(url)
    try:
        deep = [r["id"] for r in await conn.fetch("SELECT id FROM conversations WHERE user_id = $1::uuid", heavy)]
        typical_users = rng.sample(users[1:], 200)

        def query() -> str:
            # A word of rank 20-2000 (common to fairly rare), half the time with a second one.
            picked = [words[rng.randint(20, 2000)]]
            if rng.random() < 0.5:
                picked.append(words[rng.randint(20, 2000)])
            return " ".join(picked)

        heavy_queries = [query() for _ in range(200)]
        typical_queries = [(u, query()) for u in typical_users]
        for q in heavy_queries[:10]:  # warm the caches a little
            await service.search(db, heavy, q, conversation_id=None, cursor=None, limit=20)
        print("search: one or two words of Zipf rank 20-2000, limit 20, ts_headline for the page")
        await timed(
            "search, heavy user (100,000 messages)",
            [
                lambda q=q: service.search(db, heavy, q, conversation_id=None, cursor=None, limit=20)
                for q in heavy_queries
            ],
            20,
            50,
        )
        await timed(
            "search, typical user (~490 messages)",
            [
                lambda u=u, q=q: service.search(db, u, q, conversation_id=None, cursor=None, limit=20)
                for u, q in typical_queries
            ],
            20,
            50,
        )
        matches = [
            await conn.fetchval(
                "SELECT count(*) FROM archived_messages WHERE user_id = $1::uuid AND search @@ plainto_tsquery($2)",
                heavy,
                q,
            )
            for q in heavy_queries[:20]
        ]
        print(f"  (heavy user: median {statistics.median(matches):.0f} matching messages per query)")

        print("history: limit 100 (the maximum), conversations of 10,050 messages over ~24 partitions")
        pages = [rng.choice(deep) for _ in range(300)]
        await timed(
            "history, newest page (recent_messages)",
            [lambda c=c: history.history_page(db, heavy, c, before=None, cursor=None, limit=100) for c in pages],
            None,
            5,
        )
        await timed(
            "history, oldest page (seq 1-100, archive)",
            [lambda c=c: history.history_page(db, heavy, c, before=101, cursor=None, limit=100) for c in pages],
            None,
            5,
        )
        await timed(
            "history, a middle page (archive)",
            [
                lambda c=c: history.history_page(db, heavy, c, before=rng.randint(101, 10_000), cursor=None, limit=100)
                for c in pages
            ],
            None,
            5,
        )

        print("\nEXPLAIN (ANALYZE, BUFFERS) search, heavy user:")
        lo, hi = await archive_span(conn, heavy)
        plan = await explain(
            conn, "ANALYZE, BUFFERS", "search_messages", **search_params(heavy, heavy_queries[0], (lo, hi))
        )
        print(f"  q = {heavy_queries[0]!r}")
        print("\n".join("  " + r[0] for r in plan))
        print("\nEXPLAIN (ANALYZE, BUFFERS) history, oldest page of a 10,050-message conversation:")
        plan = await explain(
            conn, "ANALYZE, BUFFERS", "search_history_page", conversation_id=deep[0], low_seq=1, high_seq=100
        )
        print("\n".join("  " + r[0] for r in plan))
    finally:
        await conn.close()
        await pool.close()


def heavy_queries(count: int) -> list[str]:
    """`count` search queries: a word of Zipf rank 20-2000, half the time with a second one."""
    rng = random.Random(SEED + 2)
    words, _ = vocabulary(random.Random(SEED))
    return [" ".join(words[rng.randint(20, 2000)] for _ in range(1 if rng.random() < 0.5 else 2)) for _ in range(count)]


async def explain(conn: asyncpg.Connection, options: str, key: str, **params: object) -> list[asyncpg.Record]:
    """EXPLAIN (`options`) of the named query `key`: the gateway runs queries, not their plans."""
    query = QUERIES[key]
    return await conn.fetch(f"EXPLAIN ({options}) {query.sql}", *query.args(params))


async def archive_span(conn: asyncpg.Connection, user: str) -> tuple[datetime, datetime]:
    """The archive months of `user`'s messages, as the search bounds them (search_archive_span)."""
    span = await Db.on(conn).fetchrow("search_archive_span", user_id=user, conversation_id=None)
    assert span is not None  # aggregates only: always one row
    return span["lo"], span["hi"]


def search_params(user: str, q: str, bounds: tuple[datetime, datetime]) -> dict[str, object]:
    """The first page of `user`'s search for `q`, archived messages only within `bounds`."""
    archived_from, archived_until = bounds
    return {
        "user_id": user,
        "q": q,
        "conversation_id": None,
        "after_rank": None,
        "after_conversation_id": None,
        "after_seq": None,
        "limit": 21,
        "archived_from": archived_from,
        "archived_until": archived_until,
    }


async def unbounded_search(db: Db, user: str, q: str) -> None:
    """The search before migration 0018: one statement, every archive partition planned and probed."""
    await db.fetch("search_messages", **search_params(user, q, EVERYTHING))


async def search_p95s(url: str, heavy: str, queries: list[str]) -> dict[str, tuple[float, float]]:
    """(p50, p95) ms of the heavy user's search, before (unbounded) and after (bounded)."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    db = Db(pool)  # the owner's pool, no scope: the benchmark reads every user's messages
    try:
        bounded = [
            lambda q=q: service.search(db, heavy, q, conversation_id=None, cursor=None, limit=20) for q in queries
        ]
        unbounded = [lambda q=q: unbounded_search(db, heavy, q) for q in queries]
        await latencies(bounded + unbounded)  # a full pass first: warm caches, cached plans
        # Interleaved, so both see the same load on a shared machine.
        times = await latencies([call for pair in zip(unbounded, bounded, strict=True) for call in pair])
        return {
            label: (statistics.median(times[i::2]), percentile(times[i::2], 95))
            for i, label in enumerate((BEFORE, AFTER))
        }
    finally:
        await pool.close()


async def plan_times(url: str, heavy: str, queries: list[str]) -> dict[str, tuple[float, float]]:
    """Median (planning, execution) ms from EXPLAIN ANALYZE, before and after: what a fresh
    plan costs (asyncpg may reuse a generic plan per connection, which hides planning)."""
    conn = await asyncpg.connect(url)
    try:
        span = await archive_span(conn, heavy)
        result = {}
        for label, bounds in ((BEFORE, EVERYTHING), (AFTER, span)):
            planning, execution = [], []
            for q in queries:
                rows = await explain(conn, "ANALYZE, FORMAT JSON", "search_messages", **search_params(heavy, q, bounds))
                plan = json.loads(rows[0][0])[0]
                planning.append(plan["Planning Time"])
                execution.append(plan["Execution Time"])
            result[label] = (statistics.median(planning), statistics.median(execution))
        return result
    finally:
        await conn.close()


def partition_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'archived_messages'::regclass"
        ).fetchone()[0]


def add_old_months(url: str, target: int) -> None:
    """Empty monthly partitions before the oldest until archived_messages has `target`."""
    missing = target - partition_count(url)
    if missing <= 0:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        oldest = conn.execute("SELECT min(month_start) FROM archived_message_months").fetchone()[0]
        conn.execute(
            "SELECT mukti_ensure_partitions_v1('archived_messages', 'month',"
            " %s::timestamptz - make_interval(months => %s), %s)",
            (oldest, missing, missing),
        )
        conn.execute("ANALYZE archived_messages")


async def compare_months(url: str, heavy: str, target: int) -> None:
    queries = heavy_queries(200)
    small = partition_count(url)
    at_small = await search_p95s(url, heavy, queries)
    plans_small = await plan_times(url, heavy, queries[:30])
    add_old_months(url, target)
    large = partition_count(url)
    at_large = await search_p95s(url, heavy, queries)
    plans_large = await plan_times(url, heavy, queries[:30])
    print(f"\nsearch, heavy user, {len(queries)} queries, one connection: {small} vs {large} monthly partitions")
    print(f"{'':<26}{small:>4} partitions p50/p95 ms {large:>4} partitions p50/p95 ms   p95 ratio")
    for label in at_small:
        (p50_s, p95_s), (p50_l, p95_l) = at_small[label], at_large[label]
        print(f"{label:<26}{p50_s:>15.2f} / {p95_s:6.2f}{p50_l:>20.2f} / {p95_l:6.2f}   {p95_l / p95_s:5.2f}x")
    print(f"EXPLAIN ANALYZE, median of 30{'':<3}{small:>4} partitions plan/exec ms {large:>3} partitions plan/exec ms")
    for label in plans_small:
        (plan_s, exec_s), (plan_l, exec_l) = plans_small[label], plans_large[label]
        print(f"{label:<26}{plan_s:>15.2f} / {exec_s:6.2f}{plan_l:>20.2f} / {exec_l:6.2f}")
    before_l, after_s, after_l = (at_large[BEFORE][1], at_small[AFTER][1], at_large[AFTER][1])
    print(
        f"goal: after, p95 at {large} <= 1.2x of {small} partitions: {after_l / after_s:.2f}x; "
        f"p95 <= 20 ms: {after_l:.2f} ms; after vs before at {large}: {after_l / before_l:.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep (and on the next run reuse) the scratch database")
    parser.add_argument("--messages", type=int, default=5_000_000, help="archived messages to load")
    parser.add_argument(
        "--months-compare", type=int, default=0, metavar="M", help="also time search at M monthly partitions"
    )
    args = parser.parse_args()

    scratch = "DATABASE_URL" not in os.environ
    url = os.environ.get("DATABASE_URL") or f"{SERVER}/{SCRATCH}"
    if scratch:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (SCRATCH,)).fetchone()
            if exists and not args.keep:
                conn.execute(f'DROP DATABASE "{SCRATCH}" WITH (FORCE)')
            if not exists or not args.keep:
                conn.execute(f'CREATE DATABASE "{SCRATCH}"')
    migrate(url)
    with psycopg.connect(url) as conn:
        loaded = conn.execute("SELECT count(*) FROM users WHERE email LIKE '%%@bench.example'").fetchone()[0]
    rng = random.Random(SEED)
    if loaded:
        users, heavy, _ = plan_conversations(args.messages, rng)
        print(f"reusing the loaded database {url}")
    else:
        heavy, users = load(url, args.messages)
    try:
        asyncio.run(measure(url, heavy, users))
        if args.months_compare:
            asyncio.run(compare_months(url, heavy, args.months_compare))
    finally:
        if scratch and not args.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{SCRATCH}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
