"""Start batches: the attempts a worker process starts at once are taken together.

Every answer begins with one statement that takes its request ('processing', attempts + 1)
and loads the context the LLM needs (mukti_start_attempt_v1). A worker that fetches jobs in
batches (jobs/fetch.py) starts several within a millisecond, and each start's commit sends
a NOTIFY (live viewers see 'processing'), which holds Postgres's cluster-wide notify lock
from the commit until its WAL flush ends. Here the starts queue in one batch line
(core/database/batches.py, which holds the rules for waits, refusals and failures) and
each batch is one call of mukti_start_attempts_v1: one transaction, one commit, one notify
lock and one round trip for all of them, each start still exactly one call of
mukti_start_attempt_v1 inside it, scoped to its own user. A start that finds the sender
free goes at once, alone (a batch of one). A start whose request row someone else holds
locked is left by the function ('held', without waiting) and joins the line again a
little later, while the others are started: one locked row holds up only its own job.
There is one sender, so a process starts its attempts one transaction at a time;
MUKTI_START_BATCH_MAX=1 makes each of those a single start (docs/performance.md "Start
batches").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from core.database.batches import BatchLine
from core.database.gateway import Db


@dataclass(frozen=True, slots=True)
class Start:
    """One request to take for an attempt (the arguments of mukti_start_attempt_v1)."""

    request_id: str
    user_id: str


class StartBatches(BatchLine[Start]):
    def __init__(
        self,
        db: Db,
        *,
        max_batch: int,
        patience: float,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        """`db` unscoped (the function scopes each item); `patience`: how long a start may
        wait to be sent, as it would wait for one of the pool's connections."""
        # One sender: the starts take one of the pool's connections at a time, and the
        # more starts wait meanwhile, the more go in the next batch.
        super().__init__(senders=1, max_batch=max_batch, patience=patience, on_batch=on_batch)
        self._db = db

    async def send_alone(self, item: Start) -> asyncpg.Record | None:
        # Alone as in a batch, through mukti_start_attempts_v1: a finished request is then
        # a row of NULLs, as in a batch, instead of no row.
        (row,) = await self._start([item])
        return row

    async def send_batch(self, items: Sequence[Start]) -> list[asyncpg.Record]:
        return await self._start(items)

    def is_held(self, row: asyncpg.Record) -> bool:
        return row["held"]

    async def _start(self, items: Sequence[Start]) -> list[asyncpg.Record]:
        return await self._db.fetch(
            "answering_start_attempts",
            request_ids=[s.request_id for s in items],
            user_ids=[s.user_id for s in items],
        )
