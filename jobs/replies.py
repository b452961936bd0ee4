"""Reply batches: the replies a worker process finishes at once are stored together.

A worker runs many jobs (MUKTI_WORKER_CONCURRENCY) on a few connections (jobs/resources.py
db_pool_size); under load their stored replies queue for a connection. Here they queue in
one batch line (core/database/batches.py, which holds the rules for waits, refusals and
failures) and each batch is one call of mukti_complete_streams_v1: one transaction, one
commit and one round trip for all of them, each reply still exactly one call of
mukti_complete_stream_v4 inside it, scoped to its own user, which also finishes the reply's
job. A reply that finds the sender free is stored at once, alone (a batch of one).
A reply whose rows someone else holds locked for more than 200 ms is left unwritten by the
function ('held') and joins the line again a little later, while the others are stored:
one stuck row holds up only its own reply. A reply is never refused for waiting: that
would throw away an LLM answer already paid for. MUKTI_REPLY_BATCH_MAX=1 stores every
reply alone (docs/performance.md "Reply batches").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from core.database.batches import BatchLine
from core.database.gateway import Db


@dataclass(frozen=True, slots=True)
class Reply:
    """One streamed reply to store (the arguments of mukti_complete_stream_v4)."""

    request_id: str
    user_id: str
    job_id: int | None
    content: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    first_token_ms: int | None
    usage_estimated: bool
    stopped: bool


class ReplyBatches(BatchLine[Reply]):
    def __init__(
        self,
        db: Db,
        *,
        senders: int,
        max_batch: int,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        """`db` unscoped (each call scopes itself)."""
        # A reply waits its turn as long as it takes: refused, it would throw away an LLM
        # answer already paid for and spend an attempt. The worker's shutdown grace bounds
        # the wait (its job is cancelled then, and its reply dropped unsent).
        super().__init__(senders=senders, max_batch=max_batch, patience=math.inf, on_batch=on_batch)
        self._db = db

    async def send_alone(self, item: Reply) -> asyncpg.Record | None:
        # Alone as in a batch, through mukti_complete_streams_v1: a reply held on a lock is
        # then left for later (`held`) instead of holding up the sender.
        (row,) = await self._store([item])
        return row

    async def send_batch(self, items: Sequence[Reply]) -> list[asyncpg.Record]:
        return await self._store(items)

    def is_held(self, row: asyncpg.Record) -> bool:
        return row["outcome"] == "held"

    async def _store(self, items: Sequence[Reply]) -> list[asyncpg.Record]:
        # A connection waited for as long as it takes, as the line (the pool's acquire
        # timeout would throw the answers away just the same); the function scopes each item.
        async with self._db.pool.acquire(timeout=math.inf) as conn:
            return await Db.on(conn).fetch(
                "answering_complete_streams",
                request_ids=[r.request_id for r in items],
                contents=[r.content for r in items],
                prompt_tokens=[r.prompt_tokens for r in items],
                completion_tokens=[r.completion_tokens for r in items],
                latency_ms=[r.latency_ms for r in items],
                first_token_ms=[r.first_token_ms for r in items],
                usage_estimated=[r.usage_estimated for r in items],
                stopped=[r.stopped for r in items],
                user_ids=[r.user_id for r in items],
                job_ids=[r.job_id for r in items],
            )
