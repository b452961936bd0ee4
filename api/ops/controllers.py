"""/health, /ready and /metrics."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.types import ControllerRouterHandler

from api.errors import problem
from core.database.gateway import Db
from core.metrics import SharedMetrics, render, render_labels
from db import metrics_store
from db.migrations.heads import migration_heads
from db.pricing import unpriced_models

METRICS = "metrics: queue totals across all users, and every process's metrics"

# A readiness or metrics 503 says when to look again (load balancers, scrapers).
_RETRY = {"Retry-After": "5"}


class OperationsController(Controller):
    path = "/"
    tags = ["operations"]

    # `db` is None only before the lifespan has opened the pool (api/app.py).

    @get("/health", summary="The process is alive", sync_to_thread=False)
    def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Database reachable and migrated to head")
    async def ready(self, db: NamedDependency[Db | None]) -> Response:
        if db is None:
            return problem(503, "the database pool is not open", code="unavailable", headers=_RETRY)
        try:
            async with asyncio.timeout(2):
                version = await db.fetchval("migration_version")
        except asyncpg.UndefinedTableError:
            return problem(
                503, "the database has not been migrated (run: mukti migrate)", code="not_migrated", headers=_RETRY
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            return problem(
                503, f"the database is not reachable: {type(exc).__name__}", code="database_unavailable", headers=_RETRY
            )
        heads = migration_heads()
        if version not in heads:
            return problem(
                503,
                f"the database is at migration {version}, the code expects {', '.join(sorted(heads))} (run: mukti migrate)",
                code="not_migrated",
                headers=_RETRY,
            )
        return Response({"status": "ready", "migration": version})

    @get("/metrics", summary="Prometheus metrics of every API and worker process", media_type=MediaType.TEXT)
    async def metrics(self, request: Request, db: NamedDependency[Db | None]) -> Response:
        """The totals of all processes (core/metrics.py), and the queue as it is now."""
        shared: SharedMetrics = request.app.state.metrics
        settings = request.app.state.settings
        if db is None:
            return problem(503, "the database pool is not open", code="unavailable", headers=_RETRY)
        try:
            # Queue totals and partition strays count every user's rows: the service role.
            async with asyncio.timeout(5), db.as_service(METRICS).transaction() as tx:
                # Our own increments first: what this scrape shows includes the requests before it.
                await metrics_store.flush(tx, shared, settings.metrics_flush_interval)
                rows = await metrics_store.read_totals(tx, settings.metrics_flush_interval)
                rows += [
                    ("mukti_queue_depth", render_labels({"status": r["status"]}), r["n"])
                    for r in await tx.fetch("queue_depth")
                ]
                rows += [
                    ("mukti_queue_pending", render_labels({"priority": str(r["priority"])}), r["n"])
                    for r in await tx.fetch("queue_pending_by_priority")
                ]
                rows.append(("mukti_queue_oldest_pending_seconds", "", await tx.fetchval("oldest_pending_seconds")))
                for r in await tx.fetch("retention_runs"):
                    table = render_labels({"table": r["table_name"]})
                    rows.append(("mukti_retention_deleted_rows", table, r["total_deleted"]))
                    rows.append(("mukti_retention_last_run_timestamp_seconds", table, r["last_run"]))
                rows += [
                    ("mukti_unpriced_model", render_labels({"model": model}), 1) for model in await unpriced_models(tx)
                ]
                rows += [
                    ("mukti_default_partition_rows", render_labels({"table": r["table_name"]}), r["n"])
                    for r in await tx.fetch("default_partition_rows")
                ]
            router = request.app.state.get("router")
            if router is not None and router.replica is not None:  # this process's view of its replica
                rows.append(("mukti_replica_lag_seconds", "", float("nan") if router.lag is None else router.lag))
                rows.append(("mukti_replica_in_use", "", 1 if router.usable else 0))
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            # The totals live in the database: without it there is nothing true to show, and a
            # failed scrape (up == 0) is the right signal.
            return problem(
                503,
                f"the metrics cannot be read: the database is not reachable ({type(exc).__name__})",
                code="database_unavailable",
                headers=_RETRY,
            )
        # Litestar appends "; charset=utf-8" itself; the exposition format version goes in here.
        return Response(render(rows), media_type="text/plain; version=0.0.4")


ROUTE_HANDLERS: list[ControllerRouterHandler] = [OperationsController]
