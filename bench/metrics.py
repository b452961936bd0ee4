"""Shared metrics (core/metrics.py, db/metrics_store.py): what recording costs on a request's
path, what one process's flush costs, and what a scrape costs as processes add up.

    uv run python bench/metrics.py [--processes 20] [--routes 60]

Each simulated process has recorded HTTP metrics for `routes` route templates and LLM and
job metrics for three models; every process flushes once, then a scrape reads them all.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

from bench.common import scratch_database
from core.database.gateway import Db
from core.metrics import SharedMetrics, render
from db import metrics_store

INTERVAL = 5.0


def record_one_process(metrics: SharedMetrics, routes: int) -> None:
    for r in range(routes):
        for status in ("200", "404", "422"):
            metrics.inc("mukti_http_requests_total", {"method": "GET", "route": f"/route/{r}", "status": status})
        metrics.observe("mukti_http_request_duration_seconds", 0.004, {"method": "GET", "route": f"/route/{r}"})
    for model in ("gpt-4o-mini", "gpt-4o", "mukti-stub"):
        for outcome in ("ok", "timeout", "rate_limited"):
            metrics.inc("mukti_llm_calls_total", {"model": model, "outcome": outcome})
        metrics.observe("mukti_llm_call_duration_seconds", 1.2, {"model": model})
        metrics.inc("mukti_llm_tokens_total", {"model": model, "kind": "prompt"}, 300)


def bench_recording(n: int = 200_000) -> float:
    metrics = SharedMetrics("api")
    labels = {"method": "POST", "route": "/conversations/{conversation_id}/messages", "status": "202"}
    timing = {"method": "POST", "route": "/conversations/{conversation_id}/messages"}
    started = time.perf_counter()
    for _ in range(n):
        metrics.inc("mukti_http_requests_total", labels)
        metrics.observe("mukti_http_request_duration_seconds", 0.004, timing)
    return (time.perf_counter() - started) / n * 1e6


async def main(processes: int, routes: int) -> None:
    per_request_us = bench_recording()
    with scratch_database("metrics") as url:
        pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
        db = Db(pool)
        try:
            flushes = []
            for _ in range(processes):
                metrics = SharedMetrics("api")
                record_one_process(metrics, routes)
                series = len(metrics.drain()[0])
                record_one_process(metrics, routes)
                started = time.perf_counter()
                await metrics_store.flush(db, metrics, INTERVAL)
                flushes.append((time.perf_counter() - started) * 1000)
            scrapes = []
            for _ in range(20):
                started = time.perf_counter()
                async with pool.acquire() as conn:
                    text = render(await metrics_store.read_totals(Db.on(conn), INTERVAL))
                scrapes.append((time.perf_counter() - started) * 1000)
            stored = await pool.fetchval("SELECT count(*) FROM metric_totals")
        finally:
            await pool.close()
    print(f"recording one request's metrics (counter + histogram): {per_request_us:.1f} us")
    print(f"one process's flush ({series} counter series + gauges): median {statistics.median(flushes):.2f} ms, "
          f"max {max(flushes):.2f} ms")  # fmt: skip
    print(f"scrape of {processes} processes ({stored} stored series, {len(text) // 1024} KiB of text): "
          f"median {statistics.median(scrapes):.2f} ms, max {max(scrapes):.2f} ms")  # fmt: skip
    print(f"flush cost per second per process at a {INTERVAL:.0f} s interval: "
          f"{statistics.median(flushes) / INTERVAL:.3f} ms/s ({statistics.median(flushes) / INTERVAL / 10:.4f}% of a core)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--routes", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.processes, args.routes))
