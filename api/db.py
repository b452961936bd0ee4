"""The asyncpg pool of the API process."""

from __future__ import annotations

import json

import asyncpg

from api.settings import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    # json/jsonb as Python objects, both ways.
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(settings: Settings) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        settings.require_database_url(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        init=_init_connection,
        # Server-side statement caching is kept (our SQL is static); the cache is
        # per connection, so PgBouncer in transaction mode needs statement_cache_size=0.
        command_timeout=60,
        server_settings={"application_name": "mukti-api", "timezone": "UTC"},
    )
