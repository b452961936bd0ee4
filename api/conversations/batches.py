"""Accept batches: the questions an API process is asked at once reach Postgres together.

Every accepted question costs Postgres a transaction: a commit, a WAL flush, a round trip
each way. Under load the questions of one process queue for its few connections anyway
(MUKTI_DB_POOL_MAX), so here they queue in one line instead, and each of at most `senders`
tasks takes everything waiting (up to `max_batch`) and sends it as one call of
mukti_submit_questions_v1: one transaction for all of them, each question still exactly
one call of mukti_submit_question_v7 inside it, scoped to its own user. A question that
finds a sender free goes at once, alone, as one call of v7: batching adds no wait, it fills
the waits the pool imposed already (docs/performance.md "Accept batches").

Failures:
- A batch that fails with the transaction surely rolled back (an error of the server, or of
  the client before it sent anything, such as a value it cannot encode) is sent again
  question by question, so that each question gets its own outcome or error, as alone.
- A batch cut off by the database going away (core/database/failures.py) or by the
  statement timeout gives every question in it that error: whether it committed is
  unknown, as for a single call, and sending it again could accept a question twice.
- A request cancelled while its question waits here writes nothing: its question is
  dropped before it is sent. Once sent, it commits or fails with the others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from core.database.failures import is_database_unavailable
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


_Waiting = tuple[Question, "asyncio.Future[asyncpg.Record]"]


class AcceptBatches:
    def __init__(
        self,
        db: Db,
        settings: Settings,
        *,
        senders: int,
        max_batch: int,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        """`db` unscoped (each call scopes itself); `on_batch(outcome, size)` is told of every
        batch of two or more: 'committed', 'sent_alone' (refused, then sent one by one) or
        'failed' (the database went away)."""
        if senders < 1 or max_batch < 1:
            raise ValueError("an accept line needs at least one sender and batches of at least one")
        self._db = db
        self._settings = settings
        self._senders = senders
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._waiting: deque[_Waiting] = deque()
        self._active = 0  # senders sending or about to: counted down as one stops looking
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, question: Question) -> asyncpg.Record:
        """v7's row for `question` (outcome, request_id, ...), or the error its call raised."""
        future: asyncio.Future[asyncpg.Record] = asyncio.get_running_loop().create_future()
        self._waiting.append((question, future))
        if self._active < self._senders:
            self._active += 1
            task = asyncio.create_task(self._send_waiting())
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return await future

    async def close(self) -> None:
        """Wait for the batches in flight (the pool must stay open until then)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _send_waiting(self) -> None:
        try:
            await self._send_until_none_waits()
        finally:
            # In the same step as the last look at the line (no await in between): a
            # question queued from here on finds this sender gone and starts another.
            self._active -= 1

    async def _send_until_none_waits(self) -> None:
        while self._waiting:
            batch: list[_Waiting] = []
            while self._waiting and len(batch) < self._max_batch:
                waiting = self._waiting.popleft()
                if not waiting[1].done():  # its request was cancelled while it waited
                    batch.append(waiting)
            try:
                if len(batch) == 1:
                    await self._send_alone(*batch[0])
                elif batch:
                    await self._send_batch(batch)
            finally:
                # Only a sender cancelled mid-call (the process stopping) leaves any unsettled.
                for _, future in batch:
                    future.cancel()

    async def _send_alone(self, question: Question, future: asyncio.Future[asyncpg.Record]) -> None:
        try:
            row = await self._db.for_user(question.user_id).fetchrow(
                "conversations_submit_question",
                user_id=question.user_id,
                conversation_id=question.conversation_id,
                content=question.content,
                burst_limit=self._settings.burst_limit,
                burst_window=self._settings.burst_window,
                max_attempts=self._settings.max_attempts,
                mode=question.mode,
                seq=question.seq,
            )
        except Exception as error:
            _settle(future, error=error)
        else:
            assert row is not None  # the function returns one row, whatever the outcome
            _settle(future, row)

    async def _send_batch(self, batch: list[_Waiting]) -> None:
        questions = [question for question, _ in batch]
        try:
            rows = await self._db.fetch(
                "conversations_submit_questions",
                user_ids=[q.user_id for q in questions],
                conversation_ids=[q.conversation_id for q in questions],
                contents=[q.content for q in questions],
                modes=[q.mode for q in questions],
                seqs=[q.seq for q in questions],
                burst_limit=self._settings.burst_limit,
                burst_window=self._settings.burst_window,
                max_attempts=self._settings.max_attempts,
            )
        except Exception as error:
            # Unknown whether it committed: the connection went away, or the statement timed
            # out (asyncpg cancels it; the commit may have won). Else nothing was written.
            unknown = is_database_unavailable(error) or isinstance(error, TimeoutError)
            self._count("failed" if unknown else "sent_alone", len(batch))
            for waiting in batch:
                if unknown:
                    _settle(waiting[1], error=error)
                else:
                    await self._send_alone(*waiting)
            return
        self._count("committed", len(batch))
        for row in rows:
            _settle(batch[row["item"] - 1][1], row)

    def _count(self, outcome: str, size: int) -> None:
        if self._on_batch is not None:
            self._on_batch(outcome, size)


def _settle(
    future: asyncio.Future[asyncpg.Record], row: asyncpg.Record | None = None, *, error: BaseException | None = None
) -> None:
    if future.done():  # its request was cancelled while the call ran; the outcome stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(row)
