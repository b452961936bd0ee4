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

log = logging.getLogger("mukti.worker")


class StartedAnswers:
    """The start rows of the questions fetched and not yet taken by their task, by job id."""

    def __init__(self, give_back: Callable[[list[str]], Awaitable[int]]) -> None:
        # Puts the requests (ids) back to 'pending' with the attempt undone; their count.
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

    async def give_back(self, job_ids: list[int]) -> None:
        """The jobs `job_ids` go back to the queue unstarted: so do the requests their fetch started."""
        request_ids = [row["request_id"] for row in (self._rows.pop(job_id, None) for job_id in job_ids) if row]
        if request_ids:
            released = await self._give_back(request_ids)
            log.info("answers started by a fetch and given back unstarted: %d of %d", released, len(request_ids))
