"""Reserved slots: a worker keeps the last few of its slots for the highest-priority jobs.

Procrastinate takes jobs by priority, but only when a slot is free. Once a backlog of
lower-priority questions (a free plan's rush, a bulk import) holds every slot, a question
of a higher plan waits until one of them ends, and an LLM call lasts seconds. So while
fewer than `slots` of its slots are free, a worker takes only jobs of `priority` or higher
(its fetch, jobs/fetch.py: the choice of Procrastinate's fetch with a minimum priority).
Lower-priority jobs use every other slot. Once a high-priority job has taken a reserved
slot, it is an ordinary running job.

When the reserved band has nothing to take, Procrastinate's fetch loop waits for a wake-up
(a NOTIFY, or the next poll). A job that ends then frees an ordinary slot, so it wakes the
loop (`job_ending`); otherwise the lower-priority backlog would wait for the next poll.

The priority is MUKTI_WORKER_RESERVED_PRIORITY's, or by default (-1) the highest plan's:
then the worker reads the plans again every PLANS_READ_EVERY seconds, so that a plan added
or re-ranked while it runs is served without a restart (and while no plan ranks above
another, nothing is reserved).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from procrastinate.connector import BaseConnector

from core.settings import Settings
from jobs.answering import answer_question
from jobs.connector import ConnectorDb

log = logging.getLogger("mukti.worker")

PLANS_READ_EVERY = 30.0  # seconds between two reads of the plans' priorities


class SlotReserve:
    """Tells which fetches of one worker are reserved, from the jobs it has running.
    `priority` None: nothing is reserved (no plan ranks above another, for now)."""

    def __init__(self, *, concurrency: int, slots: int, priority: int | None, follows_plans: bool = False) -> None:
        self.concurrency = concurrency
        self.slots = slots
        self.priority = priority
        self.follows_plans = follows_plans
        self.plans_read_at = time.monotonic()
        # The worker's running jobs, counted by the worker itself (ResilientWorker binds
        # it): a count kept here could drift, e.g. from a job task cancelled before it ran.
        self.running: Callable[[], int] = lambda: 0
        # Events a fetch that found nothing may have missed while it ran: Procrastinate
        # clears its wake-up event after every fetch.
        self.ended = 0  # jobs that ended
        self.notified = 0  # wake-ups (NOTIFY) received
        self.starved = False  # a reserved fetch found nothing: wake the loop when a slot frees

    def kept(self) -> int:
        """How many of the free slots are kept for the reserved priority (0 while nothing is
        reserved): jobs of any priority may take the others."""
        return 0 if self.priority is None else self.slots

    def min_priority(self, ending: int = 0) -> int | None:
        """The minimum priority of the job the next fetch may take (None: any), `ending`
        of the running jobs left out (they are ending)."""
        if self.priority is None:
            return None
        free_after = self.concurrency - (self.running() - ending) - 1
        return self.priority if free_after < self.kept() else None

    async def follow_plans(self, connector: BaseConnector) -> None:
        """Read the plans again when it is time to (a query every PLANS_READ_EVERY s)."""
        if not self.follows_plans or time.monotonic() - self.plans_read_at < PLANS_READ_EVERY:
            return
        self.plans_read_at = time.monotonic()
        priority = plans_priority(await ConnectorDb(connector).fetchrow("worker_reserve_facts"))
        if priority != self.priority:
            self.priority = priority
            _log_reserve(self)

    def job_ending(self) -> bool:
        """A job of this worker is ending; True when its fetch loop must be woken: it
        stopped for want of a high-priority job, and this job frees an ordinary slot."""
        self.ended += 1
        if self.starved and self.min_priority(ending=1) is None:
            self.starved = False
            return True
        return False


def plans_priority(facts) -> int | None:
    """The priority the reserve keeps slots for when it follows the plans: the highest
    plan's, or None while no plan ranks above another."""
    if facts["highest"] is None or facts["highest"] == facts["lowest"]:
        return None
    return facts["highest"]


def _log_reserve(reserve: SlotReserve) -> None:
    if reserve.priority is None:
        log.info("no plan ranks above another: no slots reserved")
    else:
        log.info(
            "%d of %d slots reserved for jobs of priority %d or higher",
            reserve.slots,
            reserve.concurrency,
            reserve.priority,
        )


async def slot_reserve(
    settings: Settings, connector: BaseConnector, queues: list[str] | None = None
) -> SlotReserve | None:
    """The reserve of a worker started with `settings` on `queues` (None: all): None when
    it keeps no slot (0 reserved slots, a worker that does not answer questions, or a
    database without migration 0029's fetch). One that follows the plans may reserve nothing for
    a while (its priority None: no plan ranks above another)."""
    slots = settings.reserved_slots()
    if slots == 0 or (queues is not None and answer_question.queue not in queues):
        return None
    facts = await ConnectorDb(connector).fetchrow("worker_reserve_facts")
    if not facts["fetch_ready"]:
        log.warning("no slots reserved: the database lacks mukti_fetch_job_v4 (run the migrations)")
        return None
    follows_plans = settings.worker_reserved_priority < 0
    reserve = SlotReserve(
        concurrency=settings.worker_concurrency,
        slots=slots,
        priority=plans_priority(facts) if follows_plans else settings.worker_reserved_priority,
        follows_plans=follows_plans,
    )
    _log_reserve(reserve)
    return reserve
