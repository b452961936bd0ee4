"""Mukti behind a real PgBouncer in transaction mode, as docs/operations.md configures it:
the API's pool through the pooler with asyncpg's statement cache off, the worker's
Procrastinate connector (it LISTENs) on a direct session.

(The asking, answering and sharing modules also run whole through the pooler: their
[pgbouncer] variants, tests/conftest.py THROUGH_PGBOUNCER.)"""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import asyncpg
import httpx
import pytest

from core.database.pool import create_pool
from core.settings import Settings
from tests.integration.answering_helpers import ask, new_learner, wait_answered, worker_process
from tests.integration.api_process import api_process
from tests.servers import PgBouncer


def _pooled(pgbouncer: PgBouncer, database_url: str) -> str:
    return pgbouncer.url(urlparse(database_url).path.lstrip("/"))


async def _api_pool(pgbouncer: PgBouncer, database_url: str, size: int) -> asyncpg.Pool:
    """The API's pool as docs/operations.md configures it behind the pooler."""
    settings = Settings(
        database_url=_pooled(pgbouncer, database_url),
        direct_database_url=database_url,
        db_statement_cache_size=0,
        db_pool_min=size,
        db_pool_max=size,
    )
    return await create_pool(settings)


async def test_the_pooler_moves_sessions_between_server_connections(pgbouncer, database_url):
    """The control: the pooler really is in transaction mode. asyncpg's default named
    statements break behind it (a client's cached statement lives on a server connection
    it no longer has), which is why MUKTI_DB_STATEMENT_CACHE_SIZE=0 exists."""
    url = _pooled(pgbouncer, database_url)
    first, second = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        first_server = await first.fetchval("SELECT pg_backend_pid()")  # prepared and cached there
        async with second.transaction():  # holds that server connection while the transaction lasts
            assert await second.fetchval("SELECT pg_backend_pid() + 0") == first_server
            with pytest.raises(asyncpg.exceptions.InvalidSQLStatementNameError):
                await first.fetchval("SELECT pg_backend_pid()")  # another server: no such statement
    finally:
        await first.close()
        await second.close()


async def test_the_api_pool_keeps_no_session_state_through_the_pooler(pgbouncer, database_url):
    """Many concurrent clients, few server connections: every query on the API's pool sees
    UTC (a startup parameter PgBouncer replays on each server connection it hands out:
    a reset query such as RESET ALL would lose it) and no statement name clashes."""
    pool = await _api_pool(pgbouncer, database_url, 10)
    try:
        rows = await asyncio.gather(
            *(
                pool.fetchrow("SELECT current_setting('TimeZone') AS tz, pg_backend_pid() AS pid, $1::int AS n", i)
                for i in range(200)
            )
        )
    finally:
        await pool.close()
    assert {r["tz"] for r in rows} == {"UTC"}
    assert [r["n"] for r in rows] == list(range(200))


async def test_the_pooler_sends_nothing_of_its_own_before_each_transaction(pgbouncer, pg_server, database_url):
    """PgBouncer replays a client's startup parameters on the server connection it hands
    out wherever they differ from what that server reported. asyncpg's client_encoding
    ('utf-8', quoted) never equals the server's UTF8: until the pool sent UTF8 itself,
    every transaction through the pooler cost a `SET client_encoding` first, a round trip
    and a transaction more in Postgres (docs/performance.md "Through PgBouncer").
    Counted with the server's own statistics: N statements, N transactions."""
    name = urlparse(database_url).path.lstrip("/")
    pool = await _api_pool(pgbouncer, database_url, 1)
    # From another database, whose transactions are not this one's.
    observer = await asyncpg.connect(pg_server.url("postgres"))
    statements = 20

    async def committed() -> int:
        # One client, one statement at a time: PgBouncer hands it the server connection it
        # released last, the one whose statistics this flushes (before it answers).
        await pool.fetchval("SELECT pg_stat_force_next_flush()")
        return await observer.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", name)

    try:
        before = await committed()
        servers = {await pool.fetchval("SELECT pg_backend_pid()") for _ in range(statements)}
        after = await committed()
    finally:
        await pool.close()
        await observer.close()
    assert len(servers) == 1  # one server connection: the flush covered every statement
    # The statements and the flush; a transaction or two of the server's own at most
    # (autovacuum where it runs). With a SET before each it was 2 × (statements + 1).
    assert statements + 1 <= after - before <= statements + 3


async def test_a_question_is_answered_by_processes_going_through_the_pooler(
    pgbouncer, database_url, db, stub, tmp_path
):
    """`mukti api` and `mukti worker` as an operator runs them behind PgBouncer."""
    env = {
        "MUKTI_DIRECT_DATABASE_URL": database_url,
        "MUKTI_DB_STATEMENT_CACHE_SIZE": "0",
        "MUKTI_BURST_LIMIT": "0",
        "LLM_BASE_URL": stub.base_url,
    }
    pooled = _pooled(pgbouncer, database_url)
    async with api_process(pooled, **env) as url:
        with worker_process(pooled, stub.base_url, tmp_path / "worker.log", **env):
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                learner = await new_learner(client, db)
                accepted = [await ask(client, learner, f"Question {i}: is courage knowledge?") for i in range(3)]
                done = [await wait_answered(client, learner, a["request_id"], timeout=60) for a in accepted]
            sessions = await db.fetch(
                "SELECT pid, application_name, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name LIKE 'mukti-%'"
            )
            through_pooler = pgbouncer.server_pids()
    assert [d["status"] for d in done] == ["completed"] * 3
    assert [d["reply"]["seq"] for d in done] == [4, 5, 6]  # three questions queued, answered in order
    # The API's connections are PgBouncer's; the worker's LISTEN is a session of its own.
    api = {s["pid"] for s in sessions if s["application_name"] == "mukti-api"}
    listen = {s["pid"] for s in sessions if s["query"].upper().startswith("LISTEN")}
    assert api and api <= through_pooler
    assert listen and not listen & through_pooler
    assert "prepared statement" not in (tmp_path / "worker.log").read_text()
