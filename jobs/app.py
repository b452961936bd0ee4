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
        kwargs={"application_name": "mukti-worker"},
    )
    # Bound on `app` itself, not on a copy (`with_connector`): tasks keep a reference to
    # `app`, and periodic deferrals and in-task queries go through it.
    app.connector = connector
    app.job_manager.connector = connector
    return app
