"""Periodic maintenance tasks. Each one is idempotent: running it twice is harmless."""

from __future__ import annotations

import logging

from jobs.app import app

log = logging.getLogger("mukti.maintenance")

# Partitions to keep ahead of time: (table, unit, periods back, periods ahead).
PARTITIONED = (
    ("archived_messages", "month", 1, 3),
    ("usage_events", "day", 1, 14),
)

ENSURE_PARTITIONS = (
    "SELECT mukti_ensure_partitions_v1(%(table)s::regclass, %(unit)s, "
    "now() - %(back)s * ('1 ' || %(unit)s)::interval, %(back)s + %(ahead)s + 1) AS created"
)


@app.periodic(cron="17 * * * *", periodic_id="ensure_partitions")
@app.task(name="maintenance.ensure_partitions", queue="maintenance", queueing_lock="ensure_partitions")
async def ensure_partitions(timestamp: int) -> dict[str, int]:
    """Create archive and usage-event partitions ahead of time, every hour."""
    created: dict[str, int] = {}
    for table, unit, back, ahead in PARTITIONED:
        rows = await app.connector.execute_query_all_async(
            ENSURE_PARTITIONS, table=table, unit=unit, back=back, ahead=ahead)
        created[table] = rows[0]["created"]
    if any(created.values()):
        log.info("created partitions: %s", created)
    return created
