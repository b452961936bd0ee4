"""Database roles of migration 0009: the analyst reads the analytics schema and nothing
else; the app has DML and no DDL; each role carries its own session limits."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import asyncpg
import pytest

from core.database.scope import user_scope_sql
from tests.factories import create_user
from tests.integration.usage_support import record_usage

ANALYTICS_VIEWS = {
    "daily_usage_v1",
    "monthly_billing_v1",
    "usage_hourly_v1",
    "model_costs_v1",
    "queue_health_v1",
    "active_users_v1",
    "technique_engagement_v1",
    "popular_resources_v1",
    "daily_usage_v2",
}
SECRETS = [
    ("users", "email"),
    ("users", "password_hash"),
    ("refresh_tokens", "token_hash"),
    ("shared_links", "token_hash"),
    ("shared_links", "password_hash"),
    ("shared_link_views", "visitor_hash"),
    ("users", "webhook_url"),
]
SECRET_NAME = r"(email|hash|password|secret|webhook|^token$|_token$|token_)"


@contextlib.asynccontextmanager
async def as_role(db: asyncpg.Connection, role: str):
    """A transaction in which the session acts as `role`; rolled back at the end."""
    tx = db.transaction()
    await tx.start()
    try:
        await db.execute(f"SET LOCAL ROLE {role}")
        yield
    finally:
        await tx.rollback()


async def refused(db: asyncpg.Connection, sql: str) -> bool:
    """Whether `sql` fails for lack of a privilege (in a savepoint, so the test goes on)."""
    try:
        async with db.transaction():
            await db.execute(sql)
    except asyncpg.InsufficientPrivilegeError:
        return True
    return False


async def test_the_analyst_reads_every_analytics_view(db, settings):
    user = await create_user(db, settings)
    await record_usage(db, user.id, datetime.now(UTC))
    await db.execute("SELECT mukti_rollup_usage_v1(), mukti_refresh_matviews_v2()")
    relations = {
        row["relname"]
        for row in await db.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'analytics' AND c.relkind IN ('v', 'm')"
        )
    }
    assert relations == ANALYTICS_VIEWS
    async with as_role(db, "mukti_analyst"):
        for name in sorted(relations):
            await db.fetch(f"SELECT * FROM analytics.{name} LIMIT 5")
        assert await db.fetchval("SELECT sum(questions) FROM analytics.daily_usage_v1") == 1
        assert await db.fetchval("SELECT dau FROM analytics.active_users_v1 ORDER BY day DESC LIMIT 1") == 1


async def test_the_analyst_is_refused_on_users_and_every_secret(db):
    async with as_role(db, "mukti_analyst"):
        assert await refused(db, "SELECT 1 FROM users")
        for table, column in SECRETS:
            assert await refused(db, f"SELECT {column} FROM {table}"), (table, column)
        assert await refused(db, "SELECT mukti_drop_expired_partitions_v1('usage_events', '0 days')")
        assert await refused(db, "SELECT mukti_refresh_matviews_v2()")
        assert await refused(db, "CREATE VIEW analytics.mine AS SELECT 1")
    # Not a single column of any table outside the analytics schema is readable by the analyst.
    readable = await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND has_column_privilege('mukti_analyst', "
        "format('%I.%I', table_schema, table_name), column_name, 'SELECT')"
    )
    assert readable == []
    leaky = await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'analytics' AND column_name ~ $1",
        SECRET_NAME,
    )
    assert leaky == []


async def test_the_app_has_dml_but_cannot_create_drop_or_truncate(db, settings):
    user = await create_user(db, settings)
    async with as_role(db, "mukti_app"):
        # As the app acts: for one user (Row-Level Security, migration 0013).
        await db.execute(user_scope_sql(user.id))
        await db.execute("UPDATE users SET display_name = 'Meno' WHERE id = $1", user.id)
        await record_usage(db, user.id, datetime.now(UTC))
        await db.execute("DELETE FROM notifications WHERE user_id = $1", user.id)
        for sql in (
            "CREATE TABLE public.scratch (id int)",
            "CREATE TABLE analytics.scratch (id int)",
            "CREATE FUNCTION public.scratch() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE SCHEMA scratch",
            "DROP TABLE users",
            "DROP VIEW analytics.daily_usage_v1",
            "ALTER TABLE users ADD COLUMN scratch int",
            "CREATE INDEX scratch_idx ON users (status)",
            "TRUNCATE rate_limits",
            "TRUNCATE usage_events",
            "SELECT 1 FROM analytics.daily_usage_v1",
        ):
            assert await refused(db, sql), sql
    truncatable = await db.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
        "AND (has_table_privilege('mukti_app', c.oid, 'TRUNCATE') "
        "  OR has_table_privilege('mukti_app', c.oid, 'TRIGGER') "
        "  OR has_table_privilege('mukti_app', c.oid, 'REFERENCES'))"
    )
    assert truncatable == []


@pytest.mark.parametrize("role", ["mukti_app", "mukti_analyst", "mukti_migrator"])
async def test_each_role_has_its_own_timeouts_and_cannot_log_in_by_default(db, role):
    settings = await db.fetchval(
        "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
        "WHERE r.rolname = $1 AND s.setdatabase = 0",
        role,
    )
    names = {item.split("=", 1)[0] for item in settings}
    assert {"statement_timeout", "idle_in_transaction_session_timeout"} <= names
    assert await db.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", role) is False
