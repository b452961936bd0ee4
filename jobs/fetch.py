"""The worker's fetch of its next job: every fetch of a `mukti worker` goes through
mukti_fetch_job_v2 (migration 0028), Procrastinate's choice of the next job with a plan
each session keeps, instead of Procrastinate's own fetch, planned on every call since
0022. The worker's fetch loop is serial (one fetch at a time, then the job starts), so
each fetch's time bounds how many jobs a worker takes in per second (docs/performance.md,
"Fetch plans kept").

While fewer than its reserve's slots are free, a worker takes only jobs of the reserved
priority or higher (jobs/reserve.py); the same function does both, with a minimum
priority or without.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from procrastinate.connector import BaseConnector
from procrastinate.jobs import Job
from procrastinate.manager import JobManager

from jobs.connector import ConnectorDb
from jobs.reserve import SlotReserve

log = logging.getLogger("mukti.worker")


class FetchingJobManager(JobManager):
    """Procrastinate's job manager, fetching through mukti_fetch_job_v2 for a worker
    (with reserved slots when `reserve` is given)."""

    def __init__(self, connector: BaseConnector, reserve: SlotReserve | None = None) -> None:
        super().__init__(connector)
        self.reserve = reserve

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        reserve = self.reserve
        if reserve is not None:
            await reserve.follow_plans(self.connector)
        while True:
            seen = None if reserve is None else (reserve.ended, reserve.notified)
            min_priority = None if reserve is None else reserve.min_priority()
            rows = await ConnectorDb(self.connector).fetch(
                "worker_fetch_job",
                queues=None if queues is None else list(queues),
                worker_id=worker_id,
                min_priority=min_priority,
            )
            if rows:
                return Job.from_row(rows[0])
            if reserve is None or min_priority is None:
                return None
            if (reserve.ended, reserve.notified) == seen:
                reserve.starved = True
                return None
            # A job ended (its slot may be an ordinary one now) or a job was queued while
            # this fetch ran, and the wake-up that said so is lost: fetch again.


async def job_manager(connector: BaseConnector, reserve: SlotReserve | None) -> JobManager:
    """The job manager of a worker: ours, or Procrastinate's (and no reserve) on a database
    the migrations have not brought to mukti_fetch_job_v2 yet."""
    facts = await ConnectorDb(connector).fetchrow("worker_reserve_facts")
    if not facts["fetch_ready"]:
        log.warning("the database lacks mukti_fetch_job_v2 (run the migrations): Procrastinate's own fetch")
        return JobManager(connector)
    return FetchingJobManager(connector, reserve)
