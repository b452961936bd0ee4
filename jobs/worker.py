"""Running a worker: logs its start and stop, stops cleanly on SIGINT/SIGTERM.

Procrastinate installs the signal handlers: the first signal stops fetching and
lets running jobs finish for up to `worker_shutdown_timeout` seconds; jobs still
running then are cancelled and retried (their requests go back to 'pending'); jobs
of a worker that died without stopping are found by its stale heartbeat and retried
by the sweeper (jobs/sweeper.py).
"""

from __future__ import annotations

import logging

from api.settings import Settings
from jobs.app import configured_app
from jobs.resources import db_pool_size, open_resources

log = logging.getLogger("mukti.worker")

# New jobs wake the worker at once (LISTEN/NOTIFY); polling only finds jobs whose
# retry time has come, so it sets how late a retry after "1 s" runs.
FETCH_POLL_INTERVAL = 0.1


def quiet_per_job_logs() -> None:
    """A line per job and per LLM call would dominate the log (and a core) at hundreds
    of jobs per second; errors and retries still show (warnings and up)."""
    for name in ("procrastinate", "httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def run_worker(settings: Settings, *, queues: list[str] | None = None,
                     install_signal_handlers: bool = True) -> None:
    quiet_per_job_logs()
    app = configured_app(settings, pool_max=db_pool_size(settings))
    log.info("worker starting: concurrency=%d queues=%s", settings.worker_concurrency, queues or "all")
    async with open_resources(settings) as resources, app.open_async():
        await app.run_worker_async(
            queues=queues,
            concurrency=settings.worker_concurrency,
            shutdown_graceful_timeout=settings.worker_shutdown_timeout,
            install_signal_handlers=install_signal_handlers,
            name="mukti-worker",
            delete_jobs="successful",
            fetch_job_polling_interval=FETCH_POLL_INTERVAL,
            additional_context={"resources": resources},
        )
    log.info("worker stopped")
