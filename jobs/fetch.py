"""The worker's fetch of its next jobs: every fetch of a `mukti worker` goes through
mukti_fetch_job_v4 (migration 0031): Procrastinate's choice of the next job with a plan
each session keeps (docs/performance.md, "Fetch plans kept"), several jobs at a time
(mukti_fetch_job_v3), and the answer of each question among them started in the same
statement, its row left for the answering task (jobs/starts.py; docs/performance.md,
"Answers started by the fetch").

Procrastinate's fetch loop is serial: it waits for a free slot, fetches one job, starts
it, and goes round again, so the time of a turn bounds how many jobs a worker takes in per
second (~500/s on 2 cores with a fetch per job, its slots mostly free). So when several
ordinary slots are free, a fetch takes as many jobs as they hold (at most
MUKTI_WORKER_FETCH_BATCH) and keeps all but the first; the turns that follow start those
without a query (docs/performance.md, "Fetches in batches"). The jobs kept are few and
started at once: each has a free slot waiting for it. A worker that stops before starting
them puts them back ('todo', `release_taken`), and their requests with them ('pending',
the attempt undone); one that dies, or cannot reach the database as it stops, leaves them
'doing', and the sweeper retries them as any job of a dead worker (jobs/sweeper.py). An
abort asked for a job while it is kept reaches it once it has started, at Procrastinate's
next poll of abort requests.

While fewer than its reserve's slots are free, a worker takes only jobs of the reserved
priority or higher (jobs/reserve.py), one at a time: the same function with a minimum
priority.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable

from procrastinate.connector import BaseConnector
from procrastinate.jobs import Job
from procrastinate.manager import JobManager

from jobs.connector import ConnectorDb
from jobs.reserve import SlotReserve
from jobs.starts import StartedAnswers

log = logging.getLogger("mukti.worker")


class FetchingJobManager(JobManager):
    """Procrastinate's job manager, fetching through mukti_fetch_job_v4 for a worker, up
    to `batch` jobs a fetch (with reserved slots when `reserve` is given), the rows of the
    answers it starts left in `started`."""

    def __init__(
        self, connector: BaseConnector, started: StartedAnswers, reserve: SlotReserve | None = None, *, batch: int = 1
    ) -> None:
        super().__init__(connector)
        self.started = started
        self.reserve = reserve
        self.batch = batch
        # The worker's slots without a running job, the one being fetched for included
        # (ResilientWorker binds it); 1 until then: a fetch of one job.
        self.free_slots: Callable[[], int] = lambda: 1
        self.taken: deque[Job] = deque()  # fetched for this worker, not started yet

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        if self.taken:
            return self.taken.popleft()
        reserve = self.reserve
        if reserve is not None:
            await reserve.follow_plans(self.connector)
        # Jobs of any priority, as many as the free slots outside the reserve hold.
        size = min(self.batch, self.free_slots() - (0 if reserve is None else reserve.kept()))
        if size > 1:
            jobs = await self._fetch(queues, worker_id, None, size)
            if not jobs:
                return None
            self.taken.extend(jobs[1:])
            return jobs[0]
        while True:
            seen = None if reserve is None else (reserve.ended, reserve.notified)
            min_priority = None if reserve is None else reserve.min_priority()
            jobs = await self._fetch(queues, worker_id, min_priority, 1)
            if jobs:
                return jobs[0]
            if reserve is None or min_priority is None:
                return None
            if (reserve.ended, reserve.notified) == seen:
                reserve.starved = True
                return None
            # A job ended (its slot may be an ordinary one now) or a job was queued while
            # this fetch ran, and the wake-up that said so is lost: fetch again.

    async def _fetch(
        self, queues: Iterable[str] | None, worker_id: int, min_priority: int | None, max_jobs: int
    ) -> list[Job]:
        rows = await ConnectorDb(self.connector).fetch(
            "worker_fetch_jobs",
            queues=None if queues is None else list(queues),
            worker_id=worker_id,
            min_priority=min_priority,
            max_jobs=max_jobs,
        )
        for row in rows:
            if row["started"] is not None:
                self.started.keep(row["id"], row["started"])
        # Started in the order a fetch of one job at a time would have taken them.
        return sorted((Job.from_row(row) for row in rows), key=lambda job: (-job.priority, job.id or 0))

    async def release_taken(self, worker_id: int) -> None:
        """Give up the jobs fetched and not started (the worker stops): back to 'todo' for
        other workers, or 'aborted' / 'cancelled' (see the query worker_release_jobs); the
        requests whose answers their fetch started go back to 'pending'. A job the sweeper
        took meanwhile is left alone, and so is its request (another worker may be answering it)."""
        if not self.taken:
            return
        ids = [job.id for job in self.taken if job.id is not None]
        self.taken.clear()
        # The requests first, while the jobs are still this worker's (see the query).
        await self.started.give_back(worker_id, ids)
        rows = await ConnectorDb(self.connector).fetch("worker_release_jobs", job_ids=ids, worker_id=worker_id)
        outcomes = Counter(row["status"] for row in rows)
        log.info("fetched jobs not started, given up: %s", dict(outcomes) or "none still this worker's")


async def job_manager(
    connector: BaseConnector, started: StartedAnswers, reserve: SlotReserve | None, batch: int
) -> JobManager:
    """The job manager of a worker: ours, or Procrastinate's (and no reserve) on a database
    the migrations have not brought to mukti_fetch_job_v4 yet."""
    facts = await ConnectorDb(connector).fetchrow("worker_reserve_facts")
    if not facts["fetch_ready"]:
        log.warning("the database lacks mukti_fetch_job_v4 (run the migrations): Procrastinate's own fetch")
        return JobManager(connector)
    return FetchingJobManager(connector, started, reserve, batch=batch)
