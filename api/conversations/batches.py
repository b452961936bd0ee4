"""Accept batches: the questions an API process is asked at once reach Postgres together.

Under load the questions of one process queue for its few connections (MUKTI_DB_POOL_MAX);
here they queue in one batch line (core/database/batches.py, which holds the rules for
waits, refusals and failures) and each batch is one call of mukti_submit_questions_v1: one
transaction for all of them, each question still exactly one call of
mukti_submit_question_v7 inside it, scoped to its own user. A question that finds a sender
free goes at once, alone, as one call of v7 (docs/performance.md "Accept batches").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from core.database.batches import BatchLine
from core.database.gateway import Db
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class Question:
    """One call of the accept path (api/conversations/service.py submit_question)."""

    user_id: str
    conversation_id: str
    content: str | None
    mode: str = "ask"
    seq: int | None = None


class AcceptBatches(BatchLine[Question]):
    def __init__(
        self,
        db: Db,
        settings: Settings,
        *,
        senders: int,
        max_batch: int,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        """`db` unscoped (each call scopes itself)."""
        super().__init__(senders=senders, max_batch=max_batch, patience=settings.db_acquire_timeout, on_batch=on_batch)
        self._db = db
        # The parameters every call of a question shares, read once.
        self._limits = {
            "burst_limit": settings.burst_limit,
            "burst_window": settings.burst_window,
            "max_attempts": settings.max_attempts,
        }

    async def send_alone(self, item: Question) -> asyncpg.Record | None:
        return await self._db.for_user(item.user_id).fetchrow(
            "conversations_submit_question",
            user_id=item.user_id,
            conversation_id=item.conversation_id,
            content=item.content,
            mode=item.mode,
            seq=item.seq,
            **self._limits,
        )

    async def send_batch(self, items: Sequence[Question]) -> list[asyncpg.Record]:
        return await self._db.fetch(
            "conversations_submit_questions",
            user_ids=[q.user_id for q in items],
            conversation_ids=[q.conversation_id for q in items],
            contents=[q.content for q in items],
            modes=[q.mode for q in items],
            seqs=[q.seq for q in items],
            **self._limits,
        )
