"""Running a worker: logs its start and stop, stops cleanly on SIGINT/SIGTERM.

Procrastinate installs the signal handlers: the first signal stops fetching and
lets running jobs finish for up to `worker_shutdown_timeout` seconds; jobs still
running then are cancelled and retried (their requests go back to 'pending'); jobs
of a worker that died without stopping are found by its stale heartbeat and retried
by the sweeper (jobs/sweeper.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from core.settings import Settings
from jobs.app import configured_app
from jobs.resources import db_pool_size, open_resources

log = logging.getLogger("mukti.worker")


def quiet_per_job_logs() -> None:
    """A line per job and per LLM call would dominate the log (and a core) at hundreds
    of jobs per second; errors and retries still show (warnings and up)."""
    for name in ("procrastinate", "httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def run_worker(
    settings: Settings, *, queues: list[str] | None = None, install_signal_handlers: bool = True
) -> None:
    quiet_per_job_logs()
    app = configured_app(settings, pool_max=db_pool_size(settings))
    log.info("worker starting: concurrency=%d queues=%s", settings.worker_concurrency, queues or "all")
    worker = asyncio.current_task()
    assert worker is not None  # called from a coroutine
    if install_signal_handlers:
        # Installed before anything connects: Procrastinate installs its own handlers only
        # once its loop runs, and a SIGTERM in between would kill the process outright.
        # Cancelling run_worker_async is Procrastinate's graceful stop (running jobs get
        # shutdown_graceful_timeout to finish).
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, worker.cancel)
    try:
        async with open_resources(settings) as resources, app.open_async():
            await app.run_worker_async(
                queues=queues,  # type: ignore[arg-type]  # None (Procrastinate's default) means every queue
                concurrency=settings.worker_concurrency,
                shutdown_graceful_timeout=settings.worker_shutdown_timeout,
                install_signal_handlers=False,
                name="mukti-worker",
                delete_jobs="successful",
                # New questions wake the worker by a coalesced NOTIFY (core/database/wake.py);
                # polling finds retries whose time has come and any question whose wake-up
                # was lost, so it bounds how late either runs.
                fetch_job_polling_interval=settings.worker_poll_interval,
                additional_context={"resources": resources},
            )
    except asyncio.CancelledError:
        if not install_signal_handlers:
            raise  # cancelled by our caller, not by a signal
    finally:
        if install_signal_handlers:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
    log.info("worker stopped")
