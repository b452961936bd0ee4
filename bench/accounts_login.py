"""Benchmark of the accounts hot spots: Argon2id cost, login, refresh rotation and the throttle.

    uv run python bench/accounts_login.py [--seconds 4] [--concurrency 8]

Phases:
  1. Argon2id verify (OWASP parameters) on one thread, then on as many threads as cores:
     verifications/s; this is the ceiling of logins per process by design;
  2. POST /auth/login through the app in-process (ASGI, real asyncpg pool): logins/s and
     p50/p99, and the ratio to phase 1's parallel figure (the cost of everything else);
  3. POST /auth/refresh (rotation in one SQL function call): refreshes/s, p50/p99;
  4. the login-throttle query alone (accounts_login_throttle, --concurrency connections): calls/s.
Uses DATABASE_URL, or creates (and afterwards drops) a scratch database on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import asyncpg
from litestar.testing import AsyncTestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.accounts.passwords import HASHER  # noqa: E402
from api.app import create_app  # noqa: E402
from bench.common import scratch_database  # noqa: E402
from core.database.gateway import Db  # noqa: E402
from core.settings import Settings  # noqa: E402

PASSWORD = "correct horse battery staple"


def bench_argon2(seconds: float) -> tuple[float, float, int]:
    stored = HASHER.hash(PASSWORD)
    deadline, n = time.perf_counter() + seconds, 0
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        HASHER.verify(stored, PASSWORD)
        n += 1
    single = n / (time.perf_counter() - started)
    threads = os.cpu_count() or 1

    def loop(_: int) -> int:
        count, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            HASHER.verify(stored, PASSWORD)
            count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(loop, range(threads)))
    return single, total / (time.perf_counter() - started), threads


async def closed_loop(call, seconds: float, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else float("nan")


async def run(url: str, seconds: float, concurrency: int) -> None:
    single, parallel, threads = bench_argon2(seconds)
    print(f"argon2id verify (m=19456 KiB, t=2, p=1): {single:.1f}/s on 1 thread, {parallel:.1f}/s on {threads} threads")

    settings = Settings(database_url=url, db_pool_max=concurrency + 4)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        accounts = []
        for _ in range(concurrency):
            email = f"bench-{uuid.uuid4().hex[:10]}@example.org"
            body = (await client.post("/auth/register", json={"email": email, "password": PASSWORD})).json()
            accounts.append([email, body["refresh_token"]])

        async def login(i: int) -> None:
            r = await client.post("/auth/login", json={"email": accounts[i][0], "password": PASSWORD})
            assert r.status_code == 200, r.text

        rate, lat = await closed_loop(login, seconds, concurrency)
        print(
            f"POST /auth/login: {rate:.1f}/s, p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms "
            f"(concurrency {concurrency}); ratio to parallel argon2 alone: {rate / parallel:.2f}"
        )

        async def refresh(i: int) -> None:
            r = await client.post("/auth/refresh", json={"refresh_token": accounts[i][1]})
            assert r.status_code == 200, r.text
            accounts[i][1] = r.json()["refresh_token"]

        rate, lat = await closed_loop(refresh, seconds, concurrency)
        print(f"POST /auth/refresh: {rate:.1f}/s, p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms")

    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    db = Db(pool)
    try:

        async def throttle(i: int) -> None:
            # Distinct subjects per call and a huge limit: the cost of the function, not of waiting on its lock.
            await db.fetchrow(
                "accounts_login_throttle",
                subjects=[uuid.uuid4().hex, f"addr-{i}"],
                limits=[5, 1_000_000],
                window=timedelta(minutes=15),
            )

        rate, lat = await closed_loop(throttle, seconds, concurrency)
        print(f"mukti_login_throttle_v1: {rate:.0f} calls/s, p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms")
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with scratch_database("accounts") as url:
        asyncio.run(run(url, args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
