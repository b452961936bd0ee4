"""Benchmark: the cost of Row-Level Security on asking, history and search.

Loads USERS users, each with a conversation of MESSAGES messages (the newest 50 recent,
the rest archived), then times the service calls the API makes (the same code and
queries, without HTTP), alternating two ways in rounds so that both see the same
machine load:
  without RLS  the pool as before issue 14: each call one statement, by a role that
               RLS does not apply to (the owner);
  with RLS     the pool as the app uses it now: the app role (SET ROLE mukti_app) and
               Db.for_user (BEGIN + set_config, the statement, COMMIT; core/database/gateway.py)
and prints mean and p50 per call side by side, with their ratio (goal: <= 1.10).

    uv run python bench/rls.py [--users N] [--messages N] [--calls N]

Uses DATABASE_URL, or a scratch database on 127.0.0.1:5432 (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.conversations import service as conversations  # noqa: E402
from api.conversations.batches import AcceptBatches  # noqa: E402
from api.search import service as search  # noqa: E402
from bench.common import scratch_database  # noqa: E402
from core.database.gateway import Db  # noqa: E402
from core.database.scope import assume_role  # noqa: E402
from core.settings import Settings  # noqa: E402

WORDS = [
    "justice",
    "virtue",
    "courage",
    "knowledge",
    "piety",
    "friendship",
    "beauty",
    "truth",
    "law",
    "soul",
    "city",
    "reason",
    "desire",
    "memory",
    "doubt",
    "wisdom",
]


async def arrange(url: str, users: int, messages: int) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        # No limit gets in the way of the asking loop.
        await conn.execute("UPDATE plans SET per_hour = 100000000, per_day = 100000000")
        pairs = []
        for _ in range(users):
            user_id = await conn.fetchval(
                "INSERT INTO users (email) VALUES ($1) RETURNING id::text", f"{uuid.uuid4().hex}@example.org"
            )
            await conn.execute(
                "INSERT INTO subscriptions (user_id, plan_id) SELECT $1::uuid, id FROM plans WHERE is_default", user_id
            )
            conversation_id = await conn.fetchval(
                "INSERT INTO conversations (user_id, message_count, archived_count) VALUES ($1::uuid, $2, $3) "
                "RETURNING id::text",
                user_id,
                messages,
                max(0, messages - 50),
            )
            await conn.execute(
                """
                INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, created_at)
                SELECT $1::uuid, s, $2::uuid, CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
                       'what is ' || ($4::text[])[1 + s % 16] || ' and ' || ($4::text[])[1 + (s * 7) % 16] || '?',
                       now() - (($3 - s) || ' minutes')::interval
                  FROM generate_series(1, $3 - 50) AS s""",
                conversation_id,
                user_id,
                messages,
                list(WORDS),
            )
            await conn.execute(
                """
                INSERT INTO recent_messages (conversation_id, seq, user_id, role, content, created_at)
                SELECT $1::uuid, s, $2::uuid, CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
                       'why ' || ($4::text[])[1 + s % 16] || '?', now() - (($3 - s) || ' seconds')::interval
                  FROM generate_series(greatest(1, $3 - 49), $3) AS s""",
                conversation_id,
                user_id,
                messages,
                list(WORDS),
            )
            pairs.append((user_id, conversation_id))
        await conn.execute("ANALYZE")
        return pairs
    finally:
        await conn.close()


def operations(settings: Settings, pairs: list[tuple[str, str]], rng: random.Random):
    def ask(db, user_id, conversation_id):
        # One sender, one call at a time: each question goes alone, as v7 (no batches).
        accepts = AcceptBatches(db, settings, senders=1, max_batch=1)
        return conversations.submit_question(accepts, None, user_id, conversation_id, "and what is courage?")

    def history(db, user_id, conversation_id):
        return conversations.history_page(db, user_id, uuid.UUID(conversation_id), before=None, limit=20, cursor=None)

    def find(db, user_id, conversation_id):
        return search.search(db, user_id, rng.choice(WORDS), conversation_id=None, limit=20, cursor=None)

    return {"asking": ask, "history": history, "search": find}


async def timed(call, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return times


async def main_async(url: str, users: int, messages: int, calls: int, rounds: int) -> None:
    pairs = await arrange(url, users, messages)
    settings = Settings(database_url=url, burst_limit=100000000)
    owner = await asyncpg.create_pool(url, min_size=1, max_size=1)
    app = await asyncpg.create_pool(url, min_size=1, max_size=1, init=lambda c: assume_role(c, "mukti_app"))
    rng = random.Random(14)
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for name, op in operations(settings, pairs, rng).items():
            results[name] = {"without": [], "with": []}
            for _ in range(rounds):
                for mode in ("without", "with"):

                    async def call(mode=mode, op=op):
                        user_id, conversation_id = rng.choice(pairs)
                        db = Db(owner) if mode == "without" else Db(app).for_user(user_id)
                        await op(db, user_id, conversation_id)

                    await timed(call, 20)  # warm up the statement caches of this round
                    results[name][mode].extend(await timed(call, calls // rounds))
    finally:
        await owner.close()
        await app.close()

    print(f"{users} users x {messages} messages; {calls} calls per operation and mode, {rounds} alternating rounds")
    print(f"{'operation':<10} {'without RLS':>22} {'with RLS':>22} {'ratio':>14}")
    print(f"{'':<10} {'mean ms':>10} {'p50 ms':>11} {'mean ms':>10} {'p50 ms':>11} {'mean':>6} {'p50':>7}")
    for name, modes in results.items():
        w, r = modes["without"], modes["with"]
        mw, mr = statistics.fmean(w) * 1000, statistics.fmean(r) * 1000
        pw, pr = statistics.median(w) * 1000, statistics.median(r) * 1000
        print(f"{name:<10} {mw:>10.3f} {pw:>11.3f} {mr:>10.3f} {pr:>11.3f} {mr / mw:>6.2f} {pr / pw:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with scratch_database("rls") as url:
        asyncio.run(main_async(url, args.users, args.messages, args.calls, args.rounds))


if __name__ == "__main__":
    main()
