"""Every growing table has a lifetime: rows past it go, in batches, as the app role;
younger rows and rows still in use stay; /metrics shows what went."""

from __future__ import annotations

import uuid
from datetime import timedelta

from jobs import maintenance
from tests.factories import create_user
from tests.integration.conversations_support import create_conversation
from tests.integration.usage_support import as_role, open_connector

OLD, YOUNG = timedelta(days=400), timedelta(hours=1)


async def _arrange(db, user_id: str, conversation_id: str, age: timedelta) -> None:
    """One row of each table, `age` old."""
    await db.execute(
        """INSERT INTO notifications (user_id, kind, title, created_at)
           VALUES ($1::uuid, 'daily_limit', 'x', now() - $2::interval)""",
        user_id,
        age,
    )
    await db.execute(
        """INSERT INTO webhook_deliveries (id, user_id, event, url, payload, status, created_at)
           VALUES (gen_random_uuid(), $1::uuid, 'request.failed', 'https://example.org/h', '{}', 'delivered', now() - $2::interval)""",
        user_id,
        age,
    )
    await db.execute(
        """INSERT INTO refresh_tokens (user_id, family_id, token_hash, issued_at, expires_at)
           VALUES ($1::uuid, gen_random_uuid(), $3, now() - $2::interval, now() - $2::interval + interval '1 minute')""",
        user_id,
        age,
        uuid.uuid4().bytes,
    )
    await db.execute(
        "INSERT INTO audit_log (actor_id, action, target_type, target_id, created_at) "
        "VALUES ($1::uuid, 'test', 'user', $1, now() - $2::interval)",
        user_id,
        age,
    )
    link = await db.fetchval(
        """INSERT INTO shared_links (user_id, conversation_id, token_hash, snapshot_seq, expires_at)
           VALUES ($1::uuid, $2::uuid, $3, 0, now() + interval '1 day') RETURNING id""",
        user_id,
        conversation_id,
        uuid.uuid4().bytes,
    )
    await db.execute(
        "INSERT INTO shared_link_views (shared_link_id, user_id, viewed_at) VALUES ($1, $2::uuid, now() - $3::interval)",
        link,
        user_id,
        age,
    )


async def _counts(db) -> dict[str, int]:
    row = await db.fetchrow("""
        SELECT (SELECT count(*) FROM notifications) AS notifications,
               (SELECT count(*) FROM webhook_deliveries) AS webhook_deliveries,
               (SELECT count(*) FROM refresh_tokens) AS refresh_tokens,
               (SELECT count(*) FROM audit_log) AS audit_log,
               (SELECT count(*) FROM shared_link_views) AS shared_link_views,
               (SELECT count(*) FROM request_queue) AS request_queue,
               (SELECT count(*) FROM procrastinate_jobs) AS procrastinate_jobs""")
    return dict(row)


async def _finished_request(db, user_id: str, age: timedelta, status: str = "failed") -> None:
    conversation_id = await create_conversation(db, user_id)
    seq = 1
    await db.execute(
        """INSERT INTO request_queue (user_id, conversation_id, message_seq, plan_id, model, priority, status, completed_at, error)
           VALUES ($1::uuid, $2::uuid, $3, 'free', 'm', 0, $4, CASE WHEN $4 = 'failed' THEN now() - $5::interval END, CASE WHEN $4 = 'failed' THEN 'x' END)""",
        user_id,
        conversation_id,
        seq,
        status,
        age,
    )


async def _finished_job(db, age: timedelta, status: str = "failed") -> int:
    job_id = await db.fetchval(
        """INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)
           VALUES ('q', 't', '{}', 'todo') RETURNING id"""
    )
    await db.execute(f"UPDATE procrastinate_jobs SET status = '{status}' WHERE id = $1", job_id)
    await db.execute("UPDATE procrastinate_events SET at = now() - $2::interval WHERE job_id = $1", job_id, age)
    return job_id


async def test_rows_past_their_lifetime_go_in_batches_and_the_rest_stay(client, db, settings, database_url):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    for _ in range(3):
        await _arrange(db, user.id, conversation_id, OLD)
        await _finished_request(db, user.id, OLD)
        await _finished_job(db, OLD)
    await _arrange(db, user.id, conversation_id, YOUNG)
    await _finished_request(db, user.id, YOUNG)
    await _finished_request(db, user.id, OLD, status="pending")  # not finished: stays whatever its age
    await _finished_job(db, YOUNG)
    periodic = await _finished_job(db, OLD)  # the latest run of a periodic task stays (referenced)
    await db.execute(
        "INSERT INTO procrastinate_periodic_defers (task_name, defer_timestamp, job_id, periodic_id) "
        "VALUES ('t', 1, $1, 'p')",
        periodic,
    )
    before = await _counts(db)

    async with open_connector(as_role(database_url, "mukti_app")) as connector:
        deleted = await maintenance.purge_expired(connector, settings.lifetimes(), batch=2)
        assert await maintenance.purge_expired(connector, settings.lifetimes(), batch=2) == dict.fromkeys(deleted, 0)

    assert deleted == dict.fromkeys(settings.lifetimes(), 3)
    after = await _counts(db)
    assert after == {table: n - 3 for table, n in before.items()}
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE id = $1", periodic) == 1
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE status = 'pending'") == 1

    metrics = (await client.get("/metrics")).text
    assert 'mukti_retention_deleted_rows{table="notifications"} 3.0' in metrics
    assert 'mukti_retention_last_run_timestamp_seconds{table="audit_log"}' in metrics


async def test_an_unknown_table_is_refused(db, database_url):
    async with open_connector(database_url) as connector:
        try:
            await maintenance.purge_expired(connector, {"users": 1})
        except Exception as exc:  # the connector wraps the database's error
            assert "no lifetime is defined for table users" in str(exc.__cause__ or exc)
        else:
            raise AssertionError("users has no lifetime: purging it must fail")
    assert await db.fetchval("SELECT count(*) FROM retention_runs") == 0
