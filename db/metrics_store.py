"""Where the processes' metrics meet: flushing one process's SharedMetrics (core/metrics.py)
to Postgres, and reading the totals of all processes for a scrape (tables of 0015)."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from core.database.gateway import Db
from core.metrics import SharedMetrics, forget_after, live_within

log = logging.getLogger("mukti.metrics")

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError)


async def flush(db: Db, metrics: SharedMetrics, interval: float) -> None:
    """One statement: the increments since the last flush and the gauges now. On failure the
    increments are kept for the next flush: nothing counted is lost."""
    pending, gauges = metrics.drain()
    counters, gauge_rows = sorted(pending.items()), sorted(gauges.items())
    try:
        await db.execute(
            "metrics_flush",
            process=metrics.process,
            counter_names=[k[0] for k, _ in counters],
            counter_labels=[k[1] for k, _ in counters],
            counter_deltas=[v for _, v in counters],
            gauge_names=[k[0] for k, _ in gauge_rows],
            gauge_labels=[k[1] for k, _ in gauge_rows],
            gauge_values=[v for _, v in gauge_rows],
            forget_after=forget_after(interval),
        )
    except BaseException:
        metrics.restore(pending)
        raise


async def run_flusher(pool: asyncpg.Pool, metrics: SharedMetrics, interval: float) -> None:
    """Flush every `interval` seconds until cancelled; then a last flush, and the process's
    gauges go. The task of a process's lifespan, on its pool (the metric tables belong to no user)."""
    db = Db(pool)
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                await flush(db, metrics, interval)
            except _DB_ERRORS as exc:
                log.warning("metrics flush failed (kept for the next one): %s", exc)
    finally:
        try:
            async with asyncio.timeout(5):
                await flush(db, metrics, interval)
                await db.execute("metrics_forget_process", process=metrics.process)
        except _DB_ERRORS as exc:
            log.warning("last metrics flush failed: %s", exc)


async def read_totals(db: Db, interval: float) -> list[tuple[str, str, float]]:
    """Every stored series: counter totals, and gauges summed over the live processes."""
    rows = [(r["name"], r["labels"], r["value"]) for r in await db.fetch("metrics_totals")]
    rows += [
        (r["name"], r["labels"], r["value"])
        for r in await db.fetch("metrics_live_gauges", live_within=live_within(interval))
    ]
    return rows
