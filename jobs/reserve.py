"""Reserved slots: a worker keeps the last few of its slots for the highest-priority jobs.

Procrastinate takes jobs by priority, but only when a slot is free. Once a backlog of
lower-priority questions (a free plan's rush, a bulk import) holds every slot, a question
of a higher plan waits until one of them ends, and an LLM call lasts seconds. So while
fewer than `slots` of its slots are free, a worker takes only jobs of `priority` or higher,
through mukti_fetch_job_v1 (the choice of Procrastinate's fetch with a minimum priority).
Lower-priority jobs use every other slot. Once a high-priority job has taken a reserved
slot, it is an ordinary running job.

When the reserved band has nothing to take, Procrastinate's fetch loop waits for a wake-up
(a NOTIFY, or the next poll). A job that ends then frees an ordinary slot, so it wakes the
loop (`job_ending`); otherwise the lower-priority backlog would wait for the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from procrastinate.connector import BaseConnector
from procrastinate.jobs import Job
from procrastinate.manager import JobManager

from core.settings import Settings
from jobs.answering import answer_question
from jobs.connector import ConnectorDb

log = logging.getLogger("mukti.worker")


class SlotReserve:
    """Tells which fetches of one worker are reserved, from the jobs it has running."""

    def __init__(self, *, concurrency: int, slots: int, priority: int) -> None:
        self.concurrency = concurrency
        self.slots = slots
        self.priority = priority
        # The worker's running jobs, counted by the worker itself (ResilientWorker binds
        # it): a count kept here could drift, e.g. from a job task cancelled before it ran.
        self.running: Callable[[], int] = lambda: 0
        # Events a fetch that found nothing may have missed while it ran: Procrastinate
        # clears its wake-up event after every fetch.
        self.ended = 0  # jobs that ended
        self.notified = 0  # wake-ups (NOTIFY) received
        self.starved = False  # a reserved fetch found nothing: wake the loop when a slot frees

    def min_priority(self, ending: int = 0) -> int | None:
        """The minimum priority of the job the next fetch may take (None: any), `ending`
        of the running jobs left out (they are ending)."""
        free_after = self.concurrency - (self.running() - ending) - 1
        return self.priority if free_after < self.slots else None

    def job_ending(self) -> bool:
        """A job of this worker is ending; True when its fetch loop must be woken: it
        stopped for want of a high-priority job, and this job frees an ordinary slot."""
        self.ended += 1
        if self.starved and self.min_priority(ending=1) is None:
            self.starved = False
            return True
        return False


class ReservingJobManager(JobManager):
    """Procrastinate's job manager, fetching for a worker with reserved slots."""

    def __init__(self, connector: BaseConnector, reserve: SlotReserve) -> None:
        super().__init__(connector)
        self.reserve = reserve

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        reserve = self.reserve
        while True:
            seen = (reserve.ended, reserve.notified)
            min_priority = reserve.min_priority()
            if min_priority is None:
                return await super().fetch_job(queues, worker_id)
            rows = await ConnectorDb(self.connector).fetch(
                "worker_fetch_job_of_priority",
                queues=None if queues is None else list(queues),
                worker_id=worker_id,
                min_priority=min_priority,
            )
            if rows:
                return Job.from_row(rows[0])
            if (reserve.ended, reserve.notified) == seen:
                reserve.starved = True
                return None
            # A job ended (its slot may be an ordinary one now) or a job was queued while
            # this fetch ran, and the wake-up that said so is lost: fetch again.


async def slot_reserve(
    settings: Settings, connector: BaseConnector, queues: list[str] | None = None
) -> SlotReserve | None:
    """The reserve of a worker started with `settings` on `queues` (None: all): None when
    it keeps no slot (0 reserved slots, a worker that does not answer questions, a
    database without migration 0025, or no plan ranks above another when the priority is
    the plans')."""
    slots = settings.reserved_slots()
    priority = settings.worker_reserved_priority
    if slots == 0 or (queues is not None and answer_question.queue not in queues):
        return None
    facts = await ConnectorDb(connector).fetchrow("worker_reserve_facts")
    if not facts["fetch_ready"]:
        log.warning("no slots reserved: the database lacks mukti_fetch_job_v1 (run the migrations)")
        return None
    if priority < 0:
        if facts["highest"] is None or facts["highest"] == facts["lowest"]:
            log.info("no plan ranks above another: no slots reserved")
            return None
        priority = facts["highest"]
    log.info("%d of %d slots reserved for jobs of priority %d or higher", slots, settings.worker_concurrency, priority)
    return SlotReserve(concurrency=settings.worker_concurrency, slots=slots, priority=priority)
