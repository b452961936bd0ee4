"""The worker's Procrastinate pool checks only connections that sat idle (jobs/app.py):
one lent again at once costs no extra round trip; a broken one is still dropped."""

from __future__ import annotations

import psycopg
import psycopg_pool
import pytest

from jobs import app as jobs_app


@pytest.fixture
def checks(monkeypatch) -> list[psycopg.AsyncConnection]:
    """The connections the pool checked, in order (the check itself still runs)."""
    seen: list[psycopg.AsyncConnection] = []
    check = psycopg_pool.AsyncConnectionPool.check_connection

    async def counted(conn: psycopg.AsyncConnection) -> None:
        seen.append(conn)
        await check(conn)

    monkeypatch.setattr(psycopg_pool.AsyncConnectionPool, "check_connection", staticmethod(counted))
    return seen


async def test_a_connection_lent_again_at_once_is_not_checked(database_url, checks, monkeypatch):
    async with jobs_app._pool(conninfo=database_url, min_size=1, max_size=1, open=False) as pool:
        async with pool.connection() as conn:  # never returned before: checked
            await conn.execute("SELECT 1")
        assert checks == [conn]
        async with pool.connection() as again:
            await again.execute("SELECT 1")
        assert again is conn and checks == [conn]
        # Idle longer than CHECK_IDLE_AFTER: checked again before it is lent.
        monkeypatch.setattr(jobs_app, "CHECK_IDLE_AFTER", 0.0)
        async with pool.connection() as later:
            await later.execute("SELECT 1")
        assert checks == [conn, conn]


async def test_a_connection_that_died_while_idle_is_replaced(database_url, checks, db, monkeypatch):
    monkeypatch.setattr(jobs_app, "CHECK_IDLE_AFTER", 0.0)
    async with jobs_app._pool(conninfo=database_url, min_size=1, max_size=1, open=False) as pool:
        async with pool.connection() as conn:
            pid = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
        assert await db.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)  # returns once it is gone
        async with pool.connection() as fresh:  # the check finds it dead: a new one is lent
            new_pid = (await (await fresh.execute("SELECT pg_backend_pid()")).fetchone())[0]
        assert new_pid != pid
