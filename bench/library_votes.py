"""Benchmark of votes: mukti_cast_vote_v1 on one hot technique vs spread over many, and
the sort=top listing served from techniques_top_idx.

    uv run python bench/library_votes.py [--connections 16] [--seconds 8] [--techniques 10000]

Phases (each `--seconds`, `--connections` asyncpg connections in a closed loop, random
voters casting +1, -1 or removing their vote):
  1. hot: every vote on ONE technique (all writers queue on its row lock);
  2. spread: votes over 1,000 techniques;
then checks that every technique's counts equal the votes table, and times the first and
a deep page of the sort=top list (the library_list_techniques_top query, 20 rows).
Prints votes/s, p50/p99, the ratio hot/spread, and list latencies. Uses DATABASE_URL, or
creates (and afterwards drops) a scratch database on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.library.service import list_cursor  # noqa: E402
from bench.common import scratch_database  # noqa: E402
from core.database.gateway import Db  # noqa: E402

VOTERS = 5000
SPREAD = 1000


async def load(conn: asyncpg.Connection, techniques: int) -> tuple[list[str], list[str]]:
    voters = await conn.fetch(
        "INSERT INTO users (email) SELECT 'voter' || g || '@example.org' FROM generate_series(1, $1) g "
        "RETURNING id::text",
        VOTERS,
    )
    author = await conn.fetchval("INSERT INTO users (email) VALUES ('author@example.org') RETURNING id")
    ids = await conn.fetch(
        """WITH t AS (
               INSERT INTO techniques (user_id, name, status, latest_version, approved_version, created_at)
               SELECT $1::uuid, 'Technique ' || g, 'approved', 1, 1, now() - g * interval '1 second'
                 FROM generate_series(1, $2) g RETURNING id)
           INSERT INTO technique_versions (technique_id, version, name, system_prompt, status)
           SELECT id, 1, 'v1', 'Ask.', 'approved' FROM t RETURNING technique_id::text""",
        author,
        techniques,
    )
    await conn.execute("ANALYZE")
    return [r[0] for r in voters], [r[0] for r in ids]


async def vote_phase(
    url: str, connections: int, seconds: float, voters: list[str], targets: list[str]
) -> tuple[int, list[float]]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = await asyncpg.connect(url)
        db = Db.on(conn)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await db.fetchrow(
                    "library_cast_vote",
                    user_id=rng.choice(voters),
                    target="technique",
                    target_id=rng.choice(targets),
                    value=rng.choice([1, 1, -1, None]),
                )
                latencies.append(time.perf_counter() - started)
        finally:
            await conn.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return len(latencies), latencies


def report(label: str, count: int, latencies: list[float], seconds: float) -> float:
    ordered = sorted(latencies)
    rate = count / seconds
    print(
        f"{label:<7} {rate:>9.0f} votes/s   p50 {statistics.median(ordered) * 1000:6.2f} ms   "
        f"p99 {ordered[int(len(ordered) * 0.99)] * 1000:6.2f} ms   ({count} votes)"
    )
    return rate


async def list_latency(conn: asyncpg.Connection, user: str, cursor: tuple | None, runs: int = 200) -> float:
    db = Db.on(conn)
    after_score, after_id = cursor or (None, None)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await db.fetch(
            "library_list_techniques_top",
            user_id=user,
            pattern=None,
            after_score=after_score,
            after_id=after_id,
            limit=21,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--techniques", type=int, default=10_000)
    args = parser.parse_args()
    with scratch_database("votes") as url:
        conn = await asyncpg.connect(url)
        try:
            voters, techniques = await load(conn, args.techniques)
            print(
                f"{len(voters)} voters, {len(techniques)} approved techniques, "
                f"{args.connections} connections, {args.seconds:.0f} s per phase"
            )
            hot = report(
                "hot", *(await vote_phase(url, args.connections, args.seconds, voters, techniques[:1])), args.seconds
            )
            spread = report(
                "spread",
                *(await vote_phase(url, args.connections, args.seconds, voters, techniques[1 : SPREAD + 1])),
                args.seconds,
            )
            print(f"ratio hot/spread: {hot / spread:.2f}")
            mismatched = await conn.fetchval(
                """SELECT count(*) FROM techniques t
                     LEFT JOIN (SELECT technique_id, count(*) FILTER (WHERE value = 1) AS up,
                                       count(*) FILTER (WHERE value = -1) AS down
                                  FROM votes GROUP BY technique_id) v ON v.technique_id = t.id
                    WHERE (t.upvotes, t.downvotes) <> (coalesce(v.up, 0), coalesce(v.down, 0))"""
            )
            total = await conn.fetchval("SELECT count(*) FROM votes")
            print(
                f"consistency: {mismatched} techniques whose counts differ from the votes table ({total} votes stored)"
            )
            await conn.execute("ANALYZE")
            deep = await conn.fetchrow(
                "SELECT score, id::text FROM techniques WHERE status = 'approved' "
                "ORDER BY score DESC, id OFFSET $1 LIMIT 1",
                args.techniques // 2,
            )
            first = await list_latency(conn, voters[0], None)
            middle = await list_latency(conn, voters[0], (deep["score"], deep["id"]))
            print(
                f"GET /techniques?sort=top query, 20 rows: first page p50 {first:.2f} ms, "
                f"page at row {args.techniques // 2} p50 {middle:.2f} ms (keyset cursor "
                f"{list_cursor('techniques', 'top', deep)[:16]}...)"
            )
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
