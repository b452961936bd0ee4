"""What a worker process shares between its jobs: the database pool (and the gateway on it),
the LLM client (the offline stub's when no LLM is configured), the webhook HTTP client,
its metrics (flushed to Postgres in the background), the relay of live replies
(jobs/relay.py). Opened once per process by `run_worker` and handed to the tasks through
the job context (`additional_context["resources"]`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
from procrastinate import JobContext

from core.database.gateway import Db
from core.database.pool import create_pool
from core.database.scope import assume_role
from core.llm.client import LlmClient
from core.metrics import SharedMetrics, pool_gauges
from core.settings import Settings
from core.tasks import BackgroundTasks
from db import metrics_store
from db.pricing import warn_unpriced_models
from jobs.relay import Relay
from jobs.replies import ReplyBatches
from jobs.starts import StartedAnswers, unstarting_through

log = logging.getLogger("mukti.worker")


@dataclass(frozen=True)
class WorkerResources:
    settings: Settings
    pool: asyncpg.Pool
    # The pool through the gateway, in no scope: a task takes the scope of the account its
    # job is about (`owner_db`) or, for cross-user bookkeeping, the service role's.
    db: Db
    llm: LlmClient
    http: httpx.AsyncClient
    metrics: SharedMetrics
    relay: Relay
    # The stored replies' batch line (jobs/replies.py).
    replies: ReplyBatches
    # The answers the worker's fetch started, for their tasks (jobs/starts.py).
    started: StartedAnswers
    # Jobs whose task finished them in its own last transaction (the stored reply,
    # mukti_complete_stream_v4): the worker skips Procrastinate's finish for them.
    finished_jobs: set[int] = field(default_factory=set)


def db_pool_size(settings: Settings) -> int:
    # Jobs hold a connection only for their short queries, never across the LLM call:
    # a few connections serve hundreds of jobs, and Postgres prefers few.
    return max(3, min(settings.worker_concurrency // 10, 10))


async def relay_connection(settings: Settings) -> asyncpg.Connection:
    """The relay writer's own connection (jobs/relay.py); it calls one SECURITY DEFINER function."""
    # A long-lived connection of its own: direct (MUKTI_DIRECT_DATABASE_URL), never through a
    # transaction pooler, which could not keep its prepared statements.
    conn = await asyncpg.connect(
        settings.require_direct_database_url(), server_settings={"application_name": "mukti-worker-relay"}
    )
    if settings.db_role:
        await assume_role(conn, settings.db_role)
    return conn


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[WorkerResources]:
    # Each resource's closing is pushed as soon as it is open: closed in the reverse order,
    # each whatever the others raise, and also when opening the next one fails.
    async with contextlib.AsyncExitStack() as cleanup:
        llm_base_url = settings.llm_base_url
        # The one fallback to the offline stub (`mukti up` and `mukti worker` alike).
        if not llm_base_url and not settings.llm_api_key:
            from core.llm.stub import StubServer

            llm_base_url = cleanup.enter_context(StubServer(record_calls=False)).base_url
            log.warning(
                "no LLM configured (LLM_BASE_URL, LLM_API_KEY): answering with the offline stub at %s", llm_base_url
            )
        # The tasks decode their few json columns themselves: no per-call type codec.
        pool = await create_pool(
            settings, application_name="mukti-worker", min_size=1, max_size=db_pool_size(settings), json_codecs=False
        )
        cleanup.push_async_callback(_close_pool, pool, settings.db_acquire_timeout)
        await warn_unpriced_models(pool)
        db = Db(pool)
        metrics = SharedMetrics("worker")
        llm = LlmClient.from_settings(settings, base_url=llm_base_url, metrics=metrics)
        cleanup.push_async_callback(llm.aclose)
        metrics.add_gauge_source(pool_gauges(pool, "worker"))
        metrics.add_gauge_source(lambda: [("mukti_llm_calls_in_flight", {}, llm.in_flight)])
        http = httpx.AsyncClient(follow_redirects=False)
        cleanup.push_async_callback(http.aclose)
        background = BackgroundTasks()
        cleanup.push_async_callback(background.stop)
        background.start("metrics-flusher", metrics_store.run_flusher(pool, metrics, settings.metrics_flush_interval))
        relay = Relay(
            # The cancel poll looks at the requests of every user this process streams for.
            db.as_service("worker: cancels of the replies this process is generating"),
            lambda: relay_connection(settings),
            flush_interval=settings.live_flush_interval,
            cancel_poll=settings.live_cancel_poll,
        )
        cleanup.push_async_callback(relay.stop)
        await relay.start()

        def count_reply_batch(outcome: str, size: int) -> None:
            metrics.inc("mukti_reply_batches_total", {"outcome": outcome})
            metrics.inc("mukti_reply_batched_total", {"outcome": outcome}, size)

        replies = ReplyBatches(
            db,
            # One connection is never the replies': the next jobs can always start.
            senders=min(settings.reply_senders, db_pool_size(settings) - 1),
            max_batch=settings.reply_batch_max,
            on_batch=count_reply_batch,
        )
        # Replies in flight when the jobs have stopped: a few milliseconds, unless the
        # database hangs (then they are cut off, as their jobs were).
        cleanup.push_async_callback(replies.close, settings.db_acquire_timeout)
        await warn_about_missing_models(db, llm)
        yield WorkerResources(
            settings=settings,
            pool=pool,
            db=db,
            llm=llm,
            http=http,
            metrics=metrics,
            relay=relay,
            replies=replies,
            started=StartedAnswers(unstarting_through(db)),
        )


async def _close_pool(pool: asyncpg.Pool, timeout: float) -> None:
    # A connection still busy (a query the database does not answer) must not keep the
    # process from stopping: past the timeout, the connections are closed unasked.
    try:
        await asyncio.wait_for(pool.close(), timeout)
    except TimeoutError:
        log.warning("the database pool did not close within %.1f s: its connections are terminated", timeout)
        pool.terminate()


async def warn_about_missing_models(db: Db, llm: LlmClient) -> list[str]:
    """Compare the plans' models with the endpoint's `GET /models`; warn about the missing
    ones (their questions would fail as configuration errors). Returns them."""
    wanted = {row["model"] for row in await db.fetch("plan_models")}
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


def owner_db(res: WorkerResources, owner: str | None) -> Db | None:
    """The database as the owner of the request or delivery a job is about, so that the
    job's transactions see that account's rows only; None when the object is gone. The
    owner comes from job_request_owner or job_delivery_owner: mukti_job_owner_v1 (SECURITY
    DEFINER) reads it without a scope, in one round trip."""
    return None if owner is None else res.db.for_user(owner)
