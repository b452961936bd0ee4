"""The asyncpg pools of the API and worker processes: one place that knows how Mukti
connects."""

from __future__ import annotations

import json
import logging
import math

import asyncpg

from core.database.failures import is_database_unavailable
from core.database.scope import assume_role
from core.settings import Settings


class _OutageWithoutTraceback(logging.Filter):
    """asyncpg's pool logs a traceback each time it fails to reconnect its minimum of
    connections (1 s, 2 s, 4 s ... apart): during a database outage that is expected, and
    one line with the error says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and is_database_unavailable(record.exc_info[1]):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


_OUTAGE_FILTER = _OutageWithoutTraceback()


async def _json_codecs(conn: asyncpg.Connection) -> None:
    # json/jsonb as Python objects, both ways.
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Replaces asyncpg's reset on release (`SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`: one more round trip per request). Our callers leave no session
    state behind: no SET (only SET LOCAL and set_config(..., true); MUKTI_DB_ROLE's SET ROLE
    is set once at connect and meant to stay), LISTEN, session advisory lock or WITH HOLD
    cursor; asyncpg still rolls back a transaction left open before calling this."""


class BoundedPool(asyncpg.Pool):
    """A pool whose `acquire` gives up after `acquire_timeout` seconds (TimeoutError)
    instead of waiting forever: when every connection is busy, or the database does
    not answer the connect, a caller learns it (the API answers 503) rather than
    piling up. `pool.fetchrow()` and friends acquire through here too."""

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None):
        """`timeout` None: the pool's; math.inf: none (a caller that must not give up)."""
        if timeout is None:
            timeout = self.acquire_timeout
        return super().acquire(timeout=None if timeout == math.inf else timeout)


async def create_pool(
    settings: Settings,
    *,
    url: str | None = None,
    application_name: str = "mukti-api",
    min_size: int | None = None,
    max_size: int | None = None,
    json_codecs: bool = True,
) -> asyncpg.Pool:
    """A pool on DATABASE_URL (or on `url`: the read replica). Every connection of it may
    sit behind a transaction-mode pooler: one transaction is all it can count on."""

    async def init(conn: asyncpg.Connection) -> None:
        if json_codecs:
            await _json_codecs(conn)
        if settings.db_role:
            await assume_role(conn, settings.db_role)

    logging.getLogger("asyncpg.pool").addFilter(_OUTAGE_FILTER)  # once: a filter is added once
    pool = BoundedPool(
        url or settings.require_database_url(),
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connect=None,
        setup=None,
        min_size=settings.db_pool_min if min_size is None else min_size,
        max_size=settings.db_pool_max if max_size is None else max_size,
        init=init,
        reset=_keep_session,
        # Server-side statement caching pays off on a session of our own (our SQL is
        # static); behind PgBouncer in transaction mode it must be off (0, see Settings).
        statement_cache_size=settings.db_statement_cache_size,
        command_timeout=60,
        # client_encoding as the server reports it: asyncpg's startup message says 'utf-8'
        # (quoted), Postgres reports UTF8, and a pooler that tracks parameters (PgBouncer)
        # finds them different at every transaction and sends a SET before each one (a
        # round trip and a transaction more a statement). A later startup value wins.
        server_settings={"application_name": application_name, "timezone": "UTC", "client_encoding": "UTF8"},
    )
    pool.acquire_timeout = settings.db_acquire_timeout
    return await pool
