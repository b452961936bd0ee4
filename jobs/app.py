"""The Procrastinate app.

The module-level `app` carries the task registry and a connector that has not
connected (nothing connects at import time). `configured_app()` binds it to the
configured database (one database per process).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
import psycopg
import psycopg_pool

from core.settings import Settings
from jobs.connector import assume_role
from jobs.outage import OutageGuard, ResilientConnector

# Modules whose tasks the worker must know. Each registers tasks on `app` at import.
TASK_MODULES = ["jobs.maintenance", "jobs.answering", "jobs.dialogue", "jobs.webhooks", "jobs.sweeper"]

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=TASK_MODULES,
)


def _configure(role: str | None) -> Callable[[psycopg.AsyncConnection], Awaitable[None]]:
    """Each new connection in autocommit and, with MUKTI_DB_ROLE, acting as that role, as the
    tasks' asyncpg pool does (core/database/scope.py assume_role): in production the worker
    logs in as the app role, and the fetch starts the questions' answers under Row-Level
    Security (mukti_fetch_job_v4), so a worker that logs in as another role (development,
    the tests) must not do it with that role's rights."""

    async def configure(connection: psycopg.AsyncConnection) -> None:
        await connection.set_autocommit(True)
        if role:
            await assume_role(connection, role)

    return configure


# A connection back in the pool for less than this is lent again without a check.
CHECK_IDLE_AFTER = 1.0  # seconds
_returned_at: weakref.WeakKeyDictionary[psycopg.AsyncConnection, float] = weakref.WeakKeyDictionary()


async def _note_returned(connection: psycopg.AsyncConnection) -> None:
    _returned_at[connection] = time.monotonic()


async def _check_if_idle(connection: psycopg.AsyncConnection) -> None:
    """Procrastinate has the pool check every connection it lends (a round trip, two per
    job: fetch and finish); one in use a moment ago is alive as far as any check can
    tell. One that died since is the outage guard's case (jobs/outage.py): the query
    fails, the pool drops the broken connection, and the guard tries again."""
    returned = _returned_at.get(connection)
    if returned is None or time.monotonic() - returned >= CHECK_IDLE_AFTER:
        await psycopg_pool.AsyncConnectionPool.check_connection(connection)


def _pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool:
    return psycopg_pool.AsyncConnectionPool(**{**kwargs, "check": _check_if_idle, "reset": _note_returned})


def configured_app(
    settings: Settings, *, pool_max: int | None = None, guard: OutageGuard | None = None
) -> procrastinate.App:
    """`guard` decides how the app's queries ride out a database outage (jobs/outage.py);
    without one, they wait up to MUKTI_WORKER_GIVE_UP_AFTER."""
    connector = ResilientConnector(
        guard=guard or OutageGuard(settings.worker_give_up_after),
        # A session of its own on the primary, never a transaction-mode pooler: the worker
        # LISTENs for new jobs on one of these connections for as long as it runs.
        conninfo=settings.require_direct_database_url(),
        min_size=1,
        max_size=pool_max or 10,
        # A query waits this long for a connection (psycopg_pool's default is 30 s): the
        # outage guard does the waiting and retrying, and a stopping worker must not hang.
        timeout=settings.db_acquire_timeout,
        # Every Procrastinate query is one statement (its SQL functions are atomic): in
        # autocommit it is one round trip, not three (BEGIN, the query, COMMIT). The
        # worker fetches jobs one at a time, so each round trip saved is throughput.
        configure=_configure(settings.db_role),
        pool_factory=_pool,
        kwargs={
            "application_name": "mukti-worker",
            # Commits on these connections do not wait for the WAL flush (~1.5 ms here):
            # the serial fetch loop would otherwise take one job per flush. No acknowledged
            # data can be lost: an asynchronous commit keeps atomicity and WAL order, a crash
            # only drops the last few such commits, and every durable commit flushes all
            # earlier ones. What these connections write is Procrastinate's bookkeeping
            # (fetch, finish, retry: a lost one makes a job run again, found by the stalled-
            # job sweeper; answering and webhooks are idempotent) and the maintenance tasks'
            # recomputations (rollups, purges, partitions: redone at their next run). Replies,
            # request states, usage, notifications and webhook deliveries are written by the
            # tasks' own asyncpg pool (jobs/resources.py), with durable commits, before
            # anything is acknowledged to anyone.
            "options": "-c synchronous_commit=off",
        },
    )
    # Bound on `app` itself, not on a copy (`with_connector`): tasks keep a reference to
    # `app`, and periodic deferrals and in-task queries go through it.
    app.connector = connector
    app.job_manager.connector = connector
    return app
