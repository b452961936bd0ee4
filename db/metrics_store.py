"""Where the processes' metrics meet: flushing one process's SharedMetrics (core/metrics.py)
to Postgres, and reading the totals of all processes for a scrape (tables of 0015)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import asyncpg

from core.metrics import SharedMetrics, forget_after, live_within
from db.queries import QUERIES

log = logging.getLogger("mukti.metrics")


class Executor(Protocol):
    """A pool or connection, plain or scoped (core.database.scope)."""

    async def execute(self, query: str, *args: Any) -> str: ...
    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...


_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError)


async def flush(conn: Executor, metrics: SharedMetrics, interval: float) -> None:
    """One statement: the increments since the last flush and the gauges now. On failure the
    increments are kept for the next flush: nothing counted is lost."""
    pending, gauges = metrics.drain()
    counters, gauge_rows = sorted(pending.items()), sorted(gauges.items())
    try:
        await conn.execute(
            QUERIES["metrics_flush"],
            metrics.process,
            [k[0] for k, _ in counters],
            [k[1] for k, _ in counters],
            [v for _, v in counters],
            [k[0] for k, _ in gauge_rows],
            [k[1] for k, _ in gauge_rows],
            [v for _, v in gauge_rows],
            forget_after(interval),
        )
    except BaseException:
        metrics.restore(pending)
        raise


async def run_flusher(pool: asyncpg.Pool, metrics: SharedMetrics, interval: float) -> None:
    """Flush every `interval` seconds until cancelled; then a last flush, and the process's gauges go."""
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                await flush(pool, metrics, interval)
            except _DB_ERRORS as exc:
                log.warning("metrics flush failed (kept for the next one): %s", exc)
    finally:
        try:
            async with asyncio.timeout(5):
                await flush(pool, metrics, interval)
                await pool.execute(QUERIES["metrics_forget_process"], metrics.process)
        except _DB_ERRORS as exc:
            log.warning("last metrics flush failed: %s", exc)


async def read_totals(conn: Executor, interval: float) -> list[tuple[str, str, float]]:
    """Every stored series: counter totals, and gauges summed over the live processes."""
    rows = [(r["name"], r["labels"], r["value"]) for r in await conn.fetch(QUERIES["metrics_totals"])]
    rows += [
        (r["name"], r["labels"], r["value"])
        for r in await conn.fetch(QUERIES["metrics_live_gauges"], live_within(interval))
    ]
    return rows
