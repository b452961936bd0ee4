"""Maintenance: retention by dropping partitions (billing unchanged), the incremental
rollup under concurrent inserts, default-partition alerts, and every task run twice."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from jobs import maintenance
from tests.factories import create_user
from tests.integration.usage_support import (
    as_role,
    open_connector,
    record_usage,
    worker_app,
)

ENSURE = "SELECT mukti_ensure_partitions_v1('usage_events', 'day', $1, $2)"
TASKS = (
    "maintenance.ensure_partitions",
    "maintenance.rollup_usage",
    "maintenance.expire_usage_events",
    "maintenance.purge_rate_limits",
    "maintenance.purge_stream_chunks",
    "maintenance.refresh_matviews",
    "maintenance.check_default_partitions",
)


def _noon(days_ago: int) -> datetime:
    day = datetime.now(UTC) - timedelta(days=days_ago)
    return day.replace(hour=12, minute=0, second=0, microsecond=0)


async def _report(client, admin, month: str) -> list[dict]:
    response = await client.get("/admin/reports/monthly", params={"month": month, "limit": 100}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_retention_drops_old_partitions_and_the_monthly_report_is_unchanged(client, db, settings, database_url):
    admin = await create_user(db, settings, role="admin")
    user = await create_user(db, settings)
    old = _noon(100)
    await db.fetchval(ENSURE, old, 1)
    partition = f"usage_events_p{old:%Y%m%d}"
    for model, prompt in (("socrates-small", 100), ("socrates-small", 50), ("socrates-large", 10)):
        await record_usage(db, user.id, old, model=model, prompt_tokens=prompt, cost="0.002500")
    await record_usage(db, user.id, _noon(0))
    stray_at = datetime(2001, 1, 1, tzinfo=UTC)  # no partition: lands in the default
    await db.execute("INSERT INTO usage_events (user_id, occurred_at) VALUES ($1, $2)", user.id, stray_at)

    month = f"{old:%Y-%m}"
    before = await _report(client, admin, month)
    mine = next(item for item in before if item["user_id"] == user.id)
    assert (mine["questions"], mine["prompt_tokens"], mine["cost"]) >= (3, 160, "0.007500")

    async with open_connector(as_role(database_url, "mukti_app")) as connector:
        dropped = await maintenance.drop_expired_partitions(connector)
        assert partition in dropped
        assert await maintenance.drop_expired_partitions(connector) == []

    assert await db.fetchval("SELECT to_regclass($1)", partition) is None
    assert await db.fetchval("SELECT count(*) FROM usage_events WHERE occurred_at = $1", old) == 0
    assert await db.fetchval("SELECT count(*) FROM usage_events_default") == 1
    assert await db.fetchval("SELECT count(*) FROM usage_events WHERE occurred_at > now() - interval '1 day'") == 1
    assert await _report(client, admin, month) == before
    # The events were folded into the hourly rollup before their partition went.
    assert await db.fetchval("SELECT sum(events) FROM analytics.usage_hourly_v1 WHERE hour = $1", old) == 3


async def test_rollup_waits_for_inserts_in_flight_and_misses_none(db, settings, database_url):
    """An id drawn by a transaction that commits after a later id must not be skipped."""
    user = await create_user(db, settings)
    slow = await asyncpg.connect(database_url)
    roller = await asyncpg.connect(database_url)
    try:
        slow_tx = slow.transaction()
        await slow_tx.start()
        await record_usage(slow, user.id, _noon(0), prompt_tokens=7)  # the lower id, not committed yet
        # The higher id, committed (another model: not the aggregate row the slow one holds).
        await record_usage(db, user.id, _noon(0), model="socrates-large", prompt_tokens=11)

        rolling = asyncio.create_task(roller.fetchval("SELECT mukti_rollup_usage_v1()"))
        roller_pid = roller.get_server_pid()
        deadline = time.monotonic() + 10
        # Another session's lock wait is a server-side state with no event to await: poll it.
        while await db.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", roller_pid) != "Lock":
            assert time.monotonic() < deadline and not rolling.done(), "the rollup did not wait"
            await asyncio.sleep(0.01)
        await slow_tx.commit()
        assert await asyncio.wait_for(rolling, 10) == 2
    finally:
        await slow.close()
        await roller.close()
    assert await db.fetchval("SELECT sum(prompt_tokens) FROM analytics.usage_hourly") == 18
    assert await db.fetchval("SELECT mukti_rollup_usage_v1()") == 0


async def test_rows_in_a_default_partition_are_reported(client, db, settings, database_url, caplog):
    user = await create_user(db, settings)
    await db.execute("INSERT INTO usage_events (user_id, occurred_at) VALUES ($1, '2001-05-17T12:00:00Z')", user.id)
    # As the worker's connection is in production: the app role, Row-Level Security on, no
    # user in scope (before migration 0032 the check read 0 there).
    async with open_connector(as_role(database_url, "mukti_app")) as connector:
        with caplog.at_level(logging.WARNING, logger="mukti.maintenance"):
            strays = await maintenance.check_default_partitions(connector)
    assert strays == {"archived_messages": 0, "usage_events": 1}
    assert any("usage_events" in record.getMessage() for record in caplog.records)
    metrics = (await client.get("/metrics")).text
    assert 'mukti_default_partition_rows{table="usage_events"} 1.0' in metrics


async def _state(db: asyncpg.Connection) -> dict:
    return {
        "partitions": await db.fetchval(
            "SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_events'::regclass"
        ),
        "events": await db.fetchval("SELECT count(*) FROM usage_events"),
        "rate_limits": await db.fetchval("SELECT count(*) FROM rate_limits"),
        "hourly": await db.fetch("SELECT * FROM analytics.usage_hourly ORDER BY hour, model, event_type"),
        "watermark": await db.fetchval("SELECT last_event_id FROM analytics.rollup_state"),
        "active_users": await db.fetch("SELECT * FROM analytics.active_users_v1 ORDER BY day"),
        "jobs": await db.fetch("SELECT task_name, status::text FROM procrastinate_jobs ORDER BY id"),
    }


async def test_each_maintenance_task_run_twice_in_a_row_is_harmless(db, settings, database_url):
    """Every periodic task, deferred and run by a real worker connected as mukti_app, twice."""
    user = await create_user(db, settings)
    old = _noon(100)
    await db.fetchval(ENSURE, old, 1)
    await record_usage(db, user.id, old)
    await record_usage(db, user.id, _noon(0))
    await db.execute("INSERT INTO usage_events (user_id, occurred_at) VALUES ($1, '2001-05-17T12:00:00Z')", user.id)
    await db.execute(
        "INSERT INTO rate_limits (action, subject, user_id, hit_at, expires_at) "
        "SELECT 'question', $1::text, $1::uuid, now() - interval '2 hours', now() - interval '1 hour' "
        "FROM generate_series(1, 3) UNION ALL SELECT 'question', $1::text, $1::uuid, now(), now() + interval '1 hour'",
        user.id,
    )

    states = []
    async with worker_app(as_role(database_url, "mukti_app")) as app:
        assert (await app.connector.execute_query_one_async("SELECT current_user AS role"))["role"] == "mukti_app"
        for _ in range(2):
            for name in TASKS:
                await app.configure_task(name).defer_async(timestamp=int(time.time()))
            await app.run_worker_async(queues=["maintenance"], wait=False, install_signal_handlers=False)
            states.append(await _state(db))
    first, second = states

    assert [(job["task_name"], job["status"]) for job in second["jobs"]] == [(name, "succeeded") for name in TASKS] * 2
    assert f"usage_events_p{old:%Y%m%d}" not in first["partitions"]
    # The 2001 stray was moved out of the default partition into a partition of its own
    # (ensure_partitions), which then expired like any other (after the rollup counted it).
    assert "usage_events_p20010517" not in first["partitions"]
    assert first["events"] == 1 and first["rate_limits"] == 1
    assert sum(row["events"] for row in first["hourly"]) == 3
    assert [row["dau"] for row in first["active_users"]][-1] == 1
    for key in ("partitions", "events", "rate_limits", "hourly", "watermark", "active_users"):
        assert second[key] == first[key], key
