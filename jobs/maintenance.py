"""Periodic maintenance tasks. Each one is idempotent: running it twice is harmless.

Every task is a thin Procrastinate wrapper around a coroutine that takes a connector, so
the worker, the tests and the benchmark run the same code. The tasks use the connector
of the app that runs them (`context.app`): the worker's app is bound to the configured
database, the module-level `app` is not. Its queries ride out a database outage and
commit without waiting for the WAL flush, which suits recomputations (jobs/connector.py).
The SQL does the work, as the app role, through SECURITY DEFINER functions (migration
0009): partition DDL and REFRESH need the owner.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from procrastinate import JobContext
from procrastinate.connector import BaseConnector
from procrastinate.tasks import Task

from jobs.app import app
from jobs.connector import ConnectorDb
from jobs.resources import resources_of

log = logging.getLogger("mukti.maintenance")

# Partitions to keep ahead of time: (table, unit, periods back, periods ahead).
PARTITIONED = (
    ("archived_messages", "month", 1, 3),
    ("usage_events", "day", 1, 14),
)

# Raw events expire by whole partitions; the durable aggregates and the hourly rollup stay.
RETENTION = (("usage_events", "90 days"),)

# Days of analytics.daily_usage_v2 closed per transaction.
CLOSE_DAYS_BATCH = 7

RATE_LIMIT_BATCH = 10_000
# A bound on one run: a backlog larger than this is finished by the next runs.
RATE_LIMIT_MAX_BATCHES = 100

P = ParamSpec("P")
R = TypeVar("R")


def _periodic(
    cron: str, name: str
) -> Callable[[Callable[Concatenate[JobContext, int, P], R]], Task[Concatenate[JobContext, int, P], R, P]]:
    """A maintenance task run on `cron`: on the maintenance queue, named after its periodic
    id, and queued once at a time (the queueing lock of its own name)."""

    def register(run: Callable[Concatenate[JobContext, int, P], R]) -> Task[Concatenate[JobContext, int, P], R, P]:
        task = app.task(name=f"maintenance.{name}", queue="maintenance", queueing_lock=name, pass_context=True)(run)
        return app.periodic(cron=cron, periodic_id=name)(task)

    return register


async def create_partitions(connector: BaseConnector) -> dict[str, int]:
    created: dict[str, int] = {}
    for table, unit, back, ahead in PARTITIONED:
        row = await ConnectorDb(connector).fetchrow(
            "maintenance_ensure_partitions", table=table, unit=unit, back=back, ahead=ahead
        )
        created[table] = row["created"]
    if any(created.values()):
        log.info("created partitions: %s", created)
        # New partitions hold user rows too: they get the policies of their parents.
        await ConnectorDb(connector).fetchrow("maintenance_protect_user_tables")
    await adopt_default_rows(connector)
    return created


async def adopt_default_rows(connector: BaseConnector) -> int:
    """Move rows out of the default partitions: each period's partition is made (behind
    as well as ahead) and takes its rows, one transaction per period."""
    db = ConnectorDb(connector)
    periods = await db.fetch("maintenance_default_partition_periods")
    for period in periods:
        await db.fetchrow("maintenance_adopt_default_rows", **period)
        log.warning(
            "moved the rows of %s for %s out of its default partition", period["table_name"], period["start_at"].date()
        )
    if periods:
        await db.fetchrow("maintenance_protect_user_tables")
    return len(periods)


async def close_usage_days(connector: BaseConnector) -> int:
    """Close every finished day of analytics.daily_usage_v2, a few days per transaction."""
    total = 0
    while True:
        row = await ConnectorDb(connector).fetchrow("maintenance_close_usage_days", days=CLOSE_DAYS_BATCH)
        total += row["closed"]
        if row["closed"] < CLOSE_DAYS_BATCH:
            return total


async def rollup_usage(connector: BaseConnector) -> int:
    """Fold the usage events added since the last run into analytics.usage_hourly."""
    row = await ConnectorDb(connector).fetchrow("maintenance_rollup_usage")
    return row["events"]


async def drop_expired_partitions(connector: BaseConnector) -> list[str]:
    # Events are folded into the hourly rollup and their days closed before their
    # partition can go.
    await rollup_usage(connector)
    await close_usage_days(connector)
    dropped: list[str] = []
    for table, keep in RETENTION:
        rows = await ConnectorDb(connector).fetch("maintenance_drop_expired_partitions", table=table, keep=keep)
        dropped.extend(row["dropped"] for row in rows)
    if dropped:
        log.info("dropped expired partitions: %s", ", ".join(dropped))
    return dropped


async def _in_batches(purge: Callable[[], Awaitable[dict[str, Any]]], batch: int) -> int:
    """Run a purge (it deletes up to `batch` rows, returns `deleted`) until it is done, one
    short transaction per batch, at most RATE_LIMIT_MAX_BATCHES batches a run (a larger
    backlog is finished by the next runs)."""
    total = 0
    for _ in range(RATE_LIMIT_MAX_BATCHES):
        deleted = (await purge())["deleted"]
        total += deleted
        if deleted < batch:
            break
    return total


async def purge_rate_limits(connector: BaseConnector, batch: int = RATE_LIMIT_BATCH) -> int:
    """Delete expired rate-limit rows."""
    db = ConnectorDb(connector)
    return await _in_batches(lambda: db.fetchrow("maintenance_purge_rate_limits", batch=batch), batch)


async def purge_stream_chunks(connector: BaseConnector, batch: int = RATE_LIMIT_BATCH) -> int:
    """Delete relayed reply pieces left by attempts that ended without storing them."""
    db = ConnectorDb(connector)
    return await _in_batches(lambda: db.fetchrow("maintenance_purge_stream_chunks", batch=batch), batch)


PURGE_BATCH = 5_000


async def purge_expired(
    connector: BaseConnector, lifetimes: dict[str, int], batch: int = PURGE_BATCH
) -> dict[str, int]:
    """Delete the rows of each growing table that outlived its lifetime (days), in batches."""
    db = ConnectorDb(connector)
    deleted = {table: await _purge_expired_rows(db, table, days, batch) for table, days in lifetimes.items()}
    if any(deleted.values()):
        log.info("purged rows past their lifetime: %s", {t: n for t, n in deleted.items() if n})
    return deleted


async def _purge_expired_rows(db: ConnectorDb, table: str, days: int, batch: int) -> int:
    keep = f"{days} days"
    return await _in_batches(
        lambda: db.fetchrow("maintenance_purge_expired", table=table, keep=keep, batch=batch), batch
    )


async def refresh_matviews(connector: BaseConnector) -> int:
    await close_usage_days(connector)
    row = await ConnectorDb(connector).fetchrow("maintenance_refresh_matviews")
    return row["refreshed"]


async def check_default_partitions(connector: BaseConnector) -> dict[str, int]:
    """Rows in a default partition mean a partition is missing: warn (/metrics shows the
    same count as mukti_default_partition_rows)."""
    rows = await ConnectorDb(connector).fetch("default_partition_rows")
    strays = {row["table_name"]: row["n"] for row in rows}
    for table, n in strays.items():
        if n:
            log.warning(
                "%d rows of %s are in its default partition: a partition is missing "
                "(the ensure_partitions task moves them into the partition it creates)",
                n,
                table,
            )
    return strays


@_periodic("17 * * * *", "ensure_partitions")
async def ensure_partitions(context: JobContext, timestamp: int) -> dict[str, int]:
    """Create archive and usage-event partitions ahead of time and adopt strays, every hour."""
    return await create_partitions(context.app.connector)


@_periodic("* * * * *", "rollup_usage")
async def rollup_usage_task(context: JobContext, timestamp: int) -> int:
    """Bring the hourly usage rollup up to date, every minute."""
    return await rollup_usage(context.app.connector)


@_periodic("41 * * * *", "expire_usage_events")
async def expire_usage_events(context: JobContext, timestamp: int) -> list[str]:
    """Drop usage-event partitions older than the retention, every hour."""
    return await drop_expired_partitions(context.app.connector)


@_periodic("*/10 * * * *", "purge_rate_limits")
async def purge_rate_limits_task(context: JobContext, timestamp: int) -> int:
    """Delete expired rate-limit rows in batches, every 10 minutes."""
    return await purge_rate_limits(context.app.connector)


@_periodic("*/10 * * * *", "purge_stream_chunks")
async def purge_stream_chunks_task(context: JobContext, timestamp: int) -> int:
    """Delete relayed reply pieces of attempts that ended without storing them, every 10 minutes."""
    return await purge_stream_chunks(context.app.connector)


@_periodic("*/15 * * * *", "refresh_matviews")
async def refresh_matviews_task(context: JobContext, timestamp: int) -> int:
    """Refresh the analytics materialized views concurrently, every 15 minutes."""
    return await refresh_matviews(context.app.connector)


@_periodic("*/5 * * * *", "check_default_partitions")
async def check_default_partitions_task(context: JobContext, timestamp: int) -> dict[str, int]:
    """Warn when a default partition holds rows, every 5 minutes."""
    return await check_default_partitions(context.app.connector)


@_periodic("*/10 * * * *", "purge_expired")
async def purge_expired_task(context: JobContext, timestamp: int) -> dict[str, int]:
    """Delete rows past their lifetime (MUKTI_KEEP_*_DAYS) in batches, every 10 minutes."""
    return await purge_expired(context.app.connector, resources_of(context).settings.lifetimes())
