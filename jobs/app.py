"""The Procrastinate app.

The module-level `app` carries the task registry and a connector that has not
connected (nothing connects at import time). `configured_app()` binds it to the
configured database (one database per process).
"""

from __future__ import annotations

import procrastinate

from api.settings import Settings

# Modules whose tasks the worker must know. Each registers tasks on `app` at import.
TASK_MODULES = ["jobs.maintenance", "jobs.answering", "jobs.webhooks", "jobs.sweeper"]

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=TASK_MODULES,
)


def configured_app(settings: Settings, *, pool_max: int | None = None) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=settings.require_database_url(),
        min_size=1,
        max_size=pool_max or 10,
        # Procrastinate's own bookkeeping (fetch, finish, retry) commits without waiting for
        # the WAL flush: its fetch loop is serial, so a flush per job would cap pickup at
        # one job per fsync. A crash can only undo the last few such commits: a job fetched
        # again or run again, which answering and webhooks tolerate (idempotent, at least
        # once). Replies are stored by our own connections, with durable commits.
        kwargs={"application_name": "mukti-worker", "options": "-c synchronous_commit=off"},
    )
    # Bound on `app` itself, not on a copy (`with_connector`): tasks keep a reference to
    # `app`, and periodic deferrals and in-task queries go through it.
    app.connector = connector
    app.job_manager.connector = connector
    return app
