"""Answers the worker's fetch started: since migration 0031 the statement that takes a
worker's jobs (mukti_fetch_job_v4, jobs/fetch.py) also starts the answer of each question
among them, and leaves here the row the answering task would otherwise have fetched with
its own first statement (answering_start_attempt); the task takes it when it runs
(jobs/answering.py). A job fetched and given back unstarted (the worker stops) gives its
request back too: 'pending' again, the attempt it never made not counted."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core.database.gateway import Db

log = logging.getLogger("mukti.worker")

GiveBack = Callable[[int, list[str], list[int]], Awaitable[int]]


def unstarting_through(db: Db) -> GiveBack:
    """The give-back of a worker's StartedAnswers, through `db` as the service (the
    requests are several users'): answering_unstart_requests."""
    service = db.as_service("worker: answers its fetch started, given back unstarted as it stops")

    async def give_back(worker_id: int, request_ids: list[str], attempts: list[int]) -> int:
        released = await service.fetchval(
            "answering_unstart_requests", worker_id=worker_id, request_ids=request_ids, attempts=attempts
        )
        return released or 0

    return give_back


class StartedAnswers:
    """The start rows of the questions fetched and not yet taken by their task, by job id."""

    def __init__(self, give_back: GiveBack) -> None:
        # (worker id, request ids, their attempts as started): puts those requests back to
        # 'pending' with the attempt undone (answering_unstart_requests); their count.
        self._give_back = give_back
        self._rows: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def keep(self, job_id: int, row: dict[str, Any]) -> None:
        self._rows[job_id] = row

    def take(self, job_id: int | None) -> dict[str, Any] | None:
        """The start row of this job's request, once: None when the fetch did not start it
        (another task, an older job without its owner, a start that failed)."""
        return None if job_id is None else self._rows.pop(job_id, None)

    async def give_back(self, worker_id: int, job_ids: list[int]) -> None:
        """The jobs `job_ids` of worker `worker_id` are about to go back to the queue
        unstarted: first the requests their fetch started go back to 'pending' (those whose
        job is still this worker's), so that no other worker has started them meanwhile."""
        rows = [row for row in (self._rows.pop(job_id, None) for job_id in job_ids) if row]
        if rows:
            released = await self._give_back(
                worker_id, [row["request_id"] for row in rows], [row["attempts"] for row in rows]
            )
            log.info("answers started by a fetch and given back unstarted: %d of %d", released, len(rows))
