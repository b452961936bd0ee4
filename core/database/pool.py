"""The asyncpg pools of the API and worker processes: one place that knows how Mukti
connects."""

from __future__ import annotations

import json

import asyncpg

from core.database.scope import assume_role
from core.settings import Settings


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


async def create_pool(
    settings: Settings,
    *,
    application_name: str = "mukti-api",
    min_size: int | None = None,
    max_size: int | None = None,
    json_codecs: bool = True,
) -> asyncpg.Pool:
    async def init(conn: asyncpg.Connection) -> None:
        if json_codecs:
            await _json_codecs(conn)
        if settings.db_role:
            await assume_role(conn, settings.db_role)

    return await asyncpg.create_pool(
        settings.require_database_url(),
        min_size=settings.db_pool_min if min_size is None else min_size,
        max_size=settings.db_pool_max if max_size is None else max_size,
        init=init,
        reset=_keep_session,
        # Server-side statement caching is kept (our SQL is static); the cache is
        # per connection, so PgBouncer in transaction mode needs statement_cache_size=0.
        command_timeout=60,
        server_settings={"application_name": application_name, "timezone": "UTC"},
    )
