"""/health, /ready and /metrics."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar import MediaType, Request, Response, get
from prometheus_client import generate_latest

from api.errors import problem
from core.database.scope import as_service
from db.migrations.heads import migration_heads
from db.queries import QUERIES

METRICS = "metrics: queue totals across all users"


@get("/health", tags=["operations"], summary="The process is alive", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["operations"], summary="Database reachable and migrated to head")
async def ready(request: Request) -> Response:
    pool: asyncpg.Pool | None = request.app.state.get("pool")
    if pool is None:
        return problem(503, "the database pool is not open", code="unavailable")
    try:
        async with asyncio.timeout(2):
            version = await pool.fetchval(QUERIES["migration_version"])
    except asyncpg.UndefinedTableError:
        return problem(503, "the database has not been migrated (run: mukti migrate)", code="not_migrated")
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return problem(503, f"the database is not reachable: {type(exc).__name__}", code="database_unavailable")
    heads = migration_heads()
    if version not in heads:
        return problem(
            503,
            f"the database is at migration {version}, the code expects {', '.join(sorted(heads))} (run: mukti migrate)",
            code="not_migrated",
        )
    return Response({"status": "ready", "migration": version})


@get("/metrics", tags=["operations"], summary="Prometheus metrics", media_type=MediaType.TEXT)
async def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    pool: asyncpg.Pool | None = request.app.state.get("pool")
    if pool is not None:
        try:
            # Queue totals and partition strays count every user's rows.
            async with asyncio.timeout(2), as_service(pool, METRICS).transaction(readonly=True) as conn:
                for row in await conn.fetch(QUERIES["queue_depth"]):
                    m.queue_depth.labels(row["status"]).set(row["n"])
                m.queue_oldest_pending.set(await conn.fetchval(QUERIES["oldest_pending_seconds"]))
                for row in await conn.fetch(QUERIES["default_partition_rows"]):
                    m.default_partition_rows.labels(row["table_name"]).set(row["n"])
                for row in await conn.fetch(QUERIES["retention_runs"]):
                    m.retention_deleted.labels(row["table_name"]).set(row["total_deleted"])
                    m.retention_last_run.labels(row["table_name"]).set(row["last_run"])
        except (TimeoutError, OSError, asyncpg.PostgresError):
            pass  # the HTTP metrics are still worth serving when the database is down
    # Litestar appends "; charset=utf-8" itself; the exposition format version goes in here.
    return Response(generate_latest(m.registry), media_type="text/plain; version=0.0.4")


ROUTE_HANDLERS = [health, ready, metrics]
