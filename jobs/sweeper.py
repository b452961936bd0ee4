"""Stalled work: jobs of workers that stopped sending heartbeats are run again.

A worker killed mid-job (kill -9, a lost machine) leaves its jobs 'doing' and their
requests 'processing'. Every minute, the sweeper puts those requests back to
'pending' and those jobs back to 'todo', then forgets the dead workers. Re-running an
answer is safe: a request yields at most one reply whatever runs it.
"""

from __future__ import annotations

import logging

import asyncpg
import procrastinate
from procrastinate import JobContext

from core.database.gateway import Db
from jobs.app import app
from jobs.resources import resources_of

log = logging.getLogger("mukti.sweeper")

# Workers send a heartbeat every 10 s: three missed ones mean the worker is gone.
STALLED_AFTER = 30.0


async def retry_stalled_jobs(
    proc_app: procrastinate.App, pool: asyncpg.Pool, seconds_since_heartbeat: float = STALLED_AFTER
) -> list[int]:
    """Retry the jobs of workers silent for `seconds_since_heartbeat`; their ids."""
    stalled = list(await proc_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat))
    ids = [job.id for job in stalled]
    if ids:
        # Requests first: once its job is 'todo' again, a live worker may take it at once.
        await (
            Db(pool)
            .as_service("sweeper: requests of stalled jobs, whoever asked them")
            .execute("answering_release_jobs", job_ids=ids)
        )
    retried: list[int] = []
    for job in stalled:
        try:
            await proc_app.job_manager.retry_job(job)
            assert job.id is not None  # fetched from the database
            retried.append(job.id)
        except Exception as exc:  # the job finished or was retried meanwhile: nothing to do
            log.info("stalled job %s not retried: %s", job.id, exc)
    await proc_app.job_manager.prune_stalled_workers(seconds_since_heartbeat)
    if retried:
        log.warning("retried %d jobs of stalled workers: %s", len(retried), retried)
    return retried


@app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
@app.task(
    name="maintenance.retry_stalled_jobs", queue="maintenance", queueing_lock="retry_stalled_jobs", pass_context=True
)
async def sweep_stalled_jobs(context: JobContext, timestamp: int) -> int:
    return len(await retry_stalled_jobs(context.app, resources_of(context).pool))
