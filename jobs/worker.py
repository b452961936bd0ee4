"""Running a worker: logs its start and stop, stops cleanly on SIGINT/SIGTERM.

Procrastinate installs the signal handlers: the first signal stops fetching and
lets running jobs finish for up to `worker_shutdown_timeout` seconds; jobs still
running then are cancelled and, their worker's heartbeat gone, retried elsewhere.
"""

from __future__ import annotations

import logging

from api.settings import Settings
from jobs.app import configured_app

log = logging.getLogger("mukti.worker")


async def run_worker(settings: Settings, *, queues: list[str] | None = None) -> None:
    app = configured_app(settings, pool_max=max(4, min(settings.worker_concurrency, 20)))
    log.info("worker starting: concurrency=%d queues=%s", settings.worker_concurrency, queues or "all")
    async with app.open_async():
        await app.run_worker_async(
            queues=queues,
            concurrency=settings.worker_concurrency,
            shutdown_graceful_timeout=settings.worker_shutdown_timeout,
            install_signal_handlers=True,
            name="mukti-worker",
            delete_jobs="successful",
        )
    log.info("worker stopped")
