"""Running a worker: logs its start and stop, stops cleanly on SIGINT/SIGTERM, rides out
database outages (jobs/outage.py), and tells its supervisor how it ended.

The first SIGINT/SIGTERM stops fetching and lets running jobs finish for up to
`worker_shutdown_timeout` seconds; jobs still running then are cancelled and retried
(their requests go back to 'pending'); jobs of a worker that died without stopping are
found by its stale heartbeat and retried by the sweeper (jobs/sweeper.py).

Exit codes (`run_worker`'s result): 0 stopped on request; 75 (EX_TEMPFAIL) the database
stayed unreachable longer than MUKTI_WORKER_GIVE_UP_AFTER; 1 any other failure (e.g.
another worker's sweeper took this worker for dead during a long outage). A supervisor
restarts on non-zero.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from procrastinate import JobContext
from procrastinate.exceptions import ConnectorException, JobAborted
from procrastinate.jobs import Status
from procrastinate.worker import Worker

from core.database.failures import is_database_unavailable
from core.settings import Settings
from jobs.app import configured_app
from jobs.backoff import RetryLater
from jobs.connector import ConnectorDb
from jobs.fetch import FetchingJobManager, job_manager
from jobs.outage import OutageGuard
from jobs.reserve import SlotReserve, slot_reserve
from jobs.resources import db_pool_size, open_resources, resources_of

log = logging.getLogger("mukti.worker")

EXIT_STOPPED = 0
EXIT_FAILED = 1
EXIT_GAVE_UP = 75  # sysexits.h EX_TEMPFAIL: try again later


class PresumedDead(Exception):
    """This worker's row is gone: its jobs were handed to other workers meanwhile."""


class ResilientWorker(Worker):
    """Procrastinate's worker, told about the outage guard its queries go through and
    about its reserved slots (jobs/reserve.py), whose fetches its app's job manager makes."""

    def __init__(self, *, guard: OutageGuard, reserve: SlotReserve | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.guard = guard
        self.reserve = reserve
        if reserve is not None:
            reserve.running = self._count_running
        if isinstance(self.app.job_manager, FetchingJobManager):
            self.app.job_manager.free_slots = lambda: self.concurrency - self._count_running()

    def _count_running(self) -> int:
        # Procrastinate's own record of the job tasks (rebuilt when its loop starts; a task
        # leaves it in a done callback, so one that just ended may still be in it).
        return sum(not task.done() for task in self._running_jobs)

    async def _process_job(self, context: JobContext) -> None:
        try:
            await super()._process_job(context)
        except Exception as exc:
            # Procrastinate keeps a task's own errors; what reaches here is a failure to
            # record the job's outcome, in a task nobody awaits (asyncio would only say
            # "Task exception was never retrieved"). The job stays 'doing': the sweeper
            # retries it once this worker's heartbeat is stale (jobs/sweeper.py).
            job = context.job
            if self.guard.gave_up or is_database_unavailable(exc):
                log.warning("job %s (%s) left 'doing': the database is out of reach", job.id, job.task_name)
            else:
                log.error(
                    "job %s (%s) left 'doing': its outcome could not be recorded", job.id, job.task_name, exc_info=exc
                )
        finally:
            if self.reserve is not None and self.reserve.job_ending():
                self._new_job_event.set()

    async def _handle_notification(self, *, channel: str, notification) -> None:
        if self.reserve is not None and notification.get("type") == "job_inserted":
            self.reserve.notified += 1
        await super()._handle_notification(channel=channel, notification=notification)

    async def _persist_job_status(self, job, status, retry_decision, context, job_result) -> None:
        # A job whose task finished it in its own last transaction (jobs/answering.py's
        # stored reply) is gone: Procrastinate's finish would find no row and raise.
        # Anything else (a retry, a failure) is Procrastinate's to record, as always.
        finished = resources_of(context).finished_jobs
        if job.id in finished:
            finished.discard(job.id)
            if status == Status.SUCCEEDED and retry_decision is None:
                self._job_ids_to_abort.pop(job.id, None)
                return
        try:
            await super()._persist_job_status(job, status, retry_decision, context, job_result)
        except ConnectorException as exc:
            # The same end, unacknowledged: the reply was stored (and the job finished with
            # it) in a transaction that committed, but the connection dropped before its
            # answer came, or the task was cancelled while waiting for it. The job's later
            # steps (a failed attempt found the request completed; a shutdown's release)
            # changed nothing, and Procrastinate's finish or retry finds no row.
            if "Job was not found" not in str(exc.__cause__) or await self._job_present(job.id):
                raise
            self._job_ids_to_abort.pop(job.id, None)
            log.info("job %s was finished by its own last transaction (its acknowledgement was lost)", job.id)

    async def _job_present(self, job_id: int | None) -> bool:
        row = await ConnectorDb(self.app.connector).fetchrow("worker_job_exists", job_id=job_id)
        return bool(row["present"])

    async def _shutdown(self, side_tasks: list[asyncio.Task]) -> None:
        # Jobs fetched in a batch and not started yet go back to the queue first: Procrastinate
        # unregisters the worker at the end, and the sweeper would take them for stalled.
        manager = self.app.job_manager
        if isinstance(manager, FetchingJobManager) and self.worker_id is not None:
            try:
                await manager.release_taken(self.worker_id)
            except Exception as exc:  # e.g. the database out of reach: the sweeper retries them
                log.warning("fetched jobs not started could not be put back (%s: %s)", type(exc).__name__, exc)
        await super()._shutdown(side_tasks)

    def stop(self) -> None:
        # Shutting down must not wait for a database that is gone.
        self.guard.stop_retrying()
        super().stop()

    async def _update_heartbeat(self) -> None:
        """Procrastinate's heartbeat side task, which also notices that this worker's row
        is gone: another worker's sweeper deletes the workers whose heartbeat is stale (an
        outage longer than the stall timeout, a long pause) and retries their jobs.
        Fetching under a deleted id would fail, and finishing a job retried elsewhere would
        race its new run: the worker stops (exit code 1) and its supervisor starts a fresh
        one. Same single statement per beat as procrastinate_update_heartbeat_v1."""
        while True:
            await asyncio.sleep(self.update_heartbeat_interval)
            rows = await ConnectorDb(self.app.connector).fetch("worker_heartbeat", worker_id=self.worker_id)
            if not rows:
                raise PresumedDead(f"worker {self.worker_id} was deleted as stalled; its jobs went to other workers")


def quiet_per_job_logs() -> None:
    """A line per job and per LLM call would dominate the log (and a core) at hundreds
    of jobs per second; errors and retries still show (warnings and up)."""
    for name in ("procrastinate", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def count_jobs(call_next, context: JobContext, _worker) -> object:
    """Procrastinate worker middleware: every job counted by task and outcome, and timed."""
    metrics = resources_of(context).metrics
    task = context.job.task_name
    started = time.perf_counter()
    outcome = "failed"
    try:
        result = await call_next()
        outcome = "succeeded"
        return result
    except RetryLater:
        outcome = "retry"
        raise
    except (asyncio.CancelledError, JobAborted):
        outcome = "aborted"
        raise
    finally:
        metrics.inc("mukti_jobs_total", {"task": task, "outcome": outcome})
        metrics.observe("mukti_job_duration_seconds", time.perf_counter() - started, {"task": task})


async def run_worker(
    settings: Settings, *, queues: list[str] | None = None, install_signal_handlers: bool = True
) -> int:
    """Run until asked to stop; the exit code (see the module docstring)."""
    quiet_per_job_logs()
    main = asyncio.current_task()
    assert main is not None  # called from a coroutine
    # Giving up cancels this task like a signal does: running jobs get their grace period.
    guard = OutageGuard(settings.worker_give_up_after, on_give_up=main.cancel)
    app = configured_app(settings, pool_max=db_pool_size(settings), guard=guard)
    log.info("worker starting: concurrency=%d queues=%s", settings.worker_concurrency, queues or "all")
    if install_signal_handlers:
        # Installed before anything connects: Procrastinate installs its own handlers only
        # once its loop runs, and a SIGTERM in between would kill the process outright.
        # Cancelling the worker is Procrastinate's graceful stop.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, main.cancel)
    try:
        async with open_resources(settings) as resources, app.open_async():
            app.perform_import_paths()
            reserve = await slot_reserve(settings, app.connector, queues)
            # The app is the module's, bound to this worker while it runs (jobs/app.py): its
            # fetches go through mukti_fetch_job_v4, in batches, keep the reserve, and
            # start the questions' answers for the tasks (jobs/fetch.py, jobs/starts.py).
            app.job_manager = await job_manager(app.connector, resources.started, reserve, settings.worker_fetch_batch)
            worker = ResilientWorker(
                guard=guard,
                reserve=reserve,
                app=app,
                queues=queues,
                concurrency=settings.worker_concurrency,
                shutdown_graceful_timeout=settings.worker_shutdown_timeout,
                install_signal_handlers=False,
                name="mukti-worker",
                delete_jobs="successful",
                # New questions wake the worker by a coalesced NOTIFY (core/database/wake.py),
                # other jobs by Procrastinate's per-row NOTIFY; polling finds jobs whose
                # retry time has come, questions whose wake-up was lost, and jobs queued
                # while the LISTEN was reconnecting, so it bounds how late any of them runs.
                fetch_job_polling_interval=settings.worker_poll_interval,
                additional_context={"resources": resources},
                worker_middleware=[count_jobs],
            )
            await worker.run()
        # worker.run() returns by itself only when one of its side tasks (heartbeat,
        # listener, periodic deferrer) failed: the error is logged just above.
        log.error("worker stopped after a failure")
        code = EXIT_FAILED
    except asyncio.CancelledError:
        if guard.gave_up:
            code = EXIT_GAVE_UP
        elif install_signal_handlers:
            code = EXIT_STOPPED
        else:
            raise  # cancelled by our caller, not by a signal
    except Exception:
        if guard.gave_up:
            code = EXIT_GAVE_UP  # shutting down without the database fails as expected
        else:
            log.exception("worker failed")
            code = EXIT_FAILED
    finally:
        if install_signal_handlers:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
    log.info("worker stopped (exit code %d)", code)
    return code
