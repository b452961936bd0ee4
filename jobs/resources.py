"""What a worker process shares between its jobs: the database pool, the LLM client,
the webhook HTTP client, its metrics (flushed to Postgres in the background). Opened once per process by `run_worker` and handed to the
tasks through the job context (`additional_context["resources"]`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
from procrastinate import JobContext

from core.database.pool import create_pool
from core.database.scope import ScopedPool, for_user
from core.llm.client import LlmClient
from core.metrics import SharedMetrics, pool_gauges
from core.settings import Settings
from db import metrics_store
from db.pricing import warn_unpriced_models
from db.queries import QUERIES

log = logging.getLogger("mukti.worker")


@dataclass(frozen=True)
class WorkerResources:
    settings: Settings
    pool: asyncpg.Pool
    llm: LlmClient
    http: httpx.AsyncClient
    metrics: SharedMetrics


def db_pool_size(settings: Settings) -> int:
    # Jobs hold a connection only for their short queries, never across the LLM call:
    # a few connections serve hundreds of jobs, and Postgres prefers few.
    return max(3, min(settings.worker_concurrency // 10, 10))


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[WorkerResources]:
    stub = None
    llm_base_url = settings.llm_base_url
    if not llm_base_url and not settings.llm_api_key:
        from core.llm.stub import StubServer

        stub = StubServer(record_calls=False).__enter__()
        llm_base_url = stub.base_url
        log.warning(
            "no LLM configured (LLM_BASE_URL, LLM_API_KEY): answering with the offline stub at %s", llm_base_url
        )
    # The tasks decode their few json columns themselves: no per-call type codec.
    pool = await create_pool(
        settings, application_name="mukti-worker", min_size=1, max_size=db_pool_size(settings), json_codecs=False
    )
    await warn_unpriced_models(pool)
    metrics = SharedMetrics("worker")
    llm = LlmClient.from_settings(settings, base_url=llm_base_url, metrics=metrics)
    metrics.add_gauge_source(pool_gauges(pool, "worker"))
    metrics.add_gauge_source(lambda: [("mukti_llm_calls_in_flight", {}, llm.in_flight)])
    flusher = asyncio.create_task(metrics_store.run_flusher(pool, metrics, settings.metrics_flush_interval))
    http = httpx.AsyncClient(follow_redirects=False)
    try:
        await warn_about_missing_models(pool, llm)
        yield WorkerResources(settings=settings, pool=pool, llm=llm, http=http, metrics=metrics)
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await http.aclose()
        await llm.aclose()
        await pool.close()
        if stub is not None:
            stub.__exit__(None, None, None)


async def warn_about_missing_models(pool: asyncpg.Pool, llm: LlmClient) -> list[str]:
    """Compare the plans' models with the endpoint's `GET /models`; warn about the missing
    ones (their questions would fail as configuration errors). Returns them."""
    wanted = {row["model"] for row in await pool.fetch(QUERIES["plan_models"])}
    try:
        offered = await llm.list_models()
    except Exception as exc:  # noqa: BLE001 (an endpoint without /models, or down: say so, start anyway)
        log.warning(
            "could not list the LLM endpoint's models (GET /models) to check the plans' models %s: %s",
            sorted(wanted),
            exc,
        )
        return []
    missing = sorted(wanted - offered)
    if missing:
        log.warning(
            "the LLM endpoint does not offer the model(s) %s used by plans; their questions will fail "
            "as configuration errors (the endpoint offers %s)",
            missing,
            sorted(offered)[:20],
        )
    else:
        log.info("the LLM endpoint offers every plan's model: %s", sorted(wanted))
    return missing


def resources_of(context: JobContext) -> WorkerResources:
    try:
        return context.additional_context["resources"]
    except KeyError:
        raise RuntimeError("this task needs a worker started by jobs.worker.run_worker") from None


async def owner_db(res: WorkerResources, owner_query: str, object_id: str) -> ScopedPool | None:
    """The pool as the owner of the request or delivery a job is about, so that the job's
    transactions see that account's rows only; None when the object is gone."""
    # mukti_job_owner_v1 (SECURITY DEFINER) reads the owner without a scope: one round trip.
    owner = await res.pool.fetchval(QUERIES[owner_query], object_id)
    return None if owner is None else for_user(res.pool, owner)
