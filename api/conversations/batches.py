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
- A question that waited in the line longer than MUKTI_DB_ACQUIRE_TIMEOUT is not sent: it
  gets TimeoutError (503), as it would have waiting for a connection. (One taken just in
  time may then wait for a connection as long again: at most twice the setting.)
- A batch that fails with the transaction surely rolled back (an error of the server,
  such as a check, a deadlock, a lock or statement timeout; or of the client before it sent
  anything, such as a value it cannot encode) is sent again question by question, in the
  order they came, so that each question gets its own outcome or error, as alone.
- A batch cut off by the database going away, or by asyncpg's command timeout, gives
  every question in it that error (core/database/failures.py): whether it committed is
  unknown, as for a single call, and sending it again could accept a question twice.
- A request cancelled while its question waits here writes nothing: its question is
  dropped before it is sent. Once sent, it commits or fails with the others.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from core.database.failures import is_database_unavailable
from core.database.gateway import Db
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Question:
    """One call of the accept path (api/conversations/service.py submit_question)."""

    user_id: str
    conversation_id: str
    content: str | None
    mode: str = "ask"
    seq: int | None = None


@dataclass(slots=True)
class _Waiting:
    question: Question
    future: asyncio.Future[asyncpg.Record]
    since: float  # the loop's time when it joined the line


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
        'failed' (the database went away or did not answer in time)."""
        if senders < 1 or max_batch < 1:
            raise ValueError("an accept line needs at least one sender and batches of at least one")
        self._db = db
        self._senders = senders
        self._max_batch = max_batch
        self._on_batch = on_batch
        # As long as a request would have waited for a connection of the pool.
        self._patience = settings.db_acquire_timeout
        # The parameters every call of a question shares, read once.
        self._limits = {
            "burst_limit": settings.burst_limit,
            "burst_window": settings.burst_window,
            "max_attempts": settings.max_attempts,
        }
        self._waiting: deque[_Waiting] = deque()
        self._active = 0  # senders sending or about to: counted down as one stops looking
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False

    async def submit(self, question: Question) -> asyncpg.Record:
        """v7's row for `question` (outcome, request_id, ...), or the error its call raised;
        TimeoutError (a 503) when it waited longer than MUKTI_DB_ACQUIRE_TIMEOUT to be sent,
        as it would have for a connection."""
        if self._closed:
            raise _stopping()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[asyncpg.Record] = loop.create_future()
        self._waiting.append(_Waiting(question, future, loop.time()))
        self._start_sender()
        return await future

    async def close(self) -> None:
        """Take no more questions and wait for those in the line and in flight (the pool must
        stay open until then)."""
        self._closed = True
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _start_sender(self) -> None:
        if self._waiting and self._active < self._senders:
            self._active += 1
            task = asyncio.create_task(self._send_until_none_waits())
            self._running.add(task)
            task.add_done_callback(self._sender_stopped)

    def _sender_stopped(self, task: asyncio.Task[None]) -> None:
        # A done callback: it runs for every sender, one cancelled before its first step
        # too. A question queued while this sender was stopping, and found every sender
        # counted, is taken up here, a turn of the loop later.
        self._running.discard(task)
        self._active -= 1
        if task.cancelled() and self._closed:  # the process's shutdown cancelled it
            while self._waiting:
                _settle(self._waiting.popleft().future, error=_stopping())
            return
        self._start_sender()

    async def _send_until_none_waits(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                if len(batch) == 1:
                    await self._send_alone(batch[0])
                elif batch:
                    await self._send_batch(batch)
            except Exception as error:  # a bug of ours: its questions get it, the line goes on
                for waiting in batch:
                    _settle(waiting.future, error=error)
            finally:
                # Only a sender cancelled mid-call leaves any unsettled: whether its call
                # committed is unknown (an OSError: 503, as a lost connection).
                for waiting in batch:
                    _settle(waiting.future, error=ConnectionAbortedError("the call was cut off: outcome unknown"))

    def _take(self) -> list[_Waiting]:
        """Up to max_batch questions from the head of the line: those whose request was
        cancelled meanwhile dropped, those that waited too long refused."""
        now = asyncio.get_running_loop().time()
        batch: list[_Waiting] = []
        while self._waiting and len(batch) < self._max_batch:
            waiting = self._waiting.popleft()
            if waiting.future.done():
                continue
            if now - waiting.since > self._patience:
                _settle(waiting.future, error=TimeoutError("the question waited too long for the database"))
                continue
            batch.append(waiting)
        return batch

    async def _send_alone(self, waiting: _Waiting) -> None:
        question = waiting.question
        try:
            row = await self._db.for_user(question.user_id).fetchrow(
                "conversations_submit_question",
                user_id=question.user_id,
                conversation_id=question.conversation_id,
                content=question.content,
                mode=question.mode,
                seq=question.seq,
                **self._limits,
            )
            if row is None:
                raise RuntimeError("mukti_submit_question_v7 returned no row")
        except Exception as error:
            _settle(waiting.future, error=error)
        else:
            _settle(waiting.future, row)

    async def _send_batch(self, batch: list[_Waiting]) -> None:
        questions = [waiting.question for waiting in batch]
        try:
            rows = await self._db.fetch(
                "conversations_submit_questions",
                user_ids=[q.user_id for q in questions],
                conversation_ids=[q.conversation_id for q in questions],
                contents=[q.content for q in questions],
                modes=[q.mode for q in questions],
                seqs=[q.seq for q in questions],
                **self._limits,
            )
        except Exception as error:
            # Unknown whether it committed: the connection went away, or asyncpg's command
            # timeout cancelled it (TimeoutError, an OSError: the commit may have won).
            # Otherwise Postgres rolled it back, or the driver sent nothing.
            if is_database_unavailable(error):
                self._count("failed", len(batch))
                for waiting in batch:
                    # Each request re-raises it: a copy each, so tracebacks do not pile up.
                    _settle(waiting.future, error=copy.copy(error))
                return
            self._count("sent_alone", len(batch))
            # One by one, in the order they came: one connection, as this sender's share of
            # the pool, and one user's questions numbered as they were asked.
            for waiting in batch:
                await self._send_alone(waiting)
            return
        self._count("committed", len(batch))
        for row in rows:
            _settle(batch[row["item"] - 1].future, row)

    def _count(self, outcome: str, size: int) -> None:
        if self._on_batch is not None:
            try:
                self._on_batch(outcome, size)
            except Exception:  # a metric must not cost a question its answer
                log.exception("the accept batches' counter failed")


def _stopping() -> ConnectionAbortedError:
    # An OSError: the API answers 503, as for a database out of reach.
    return ConnectionAbortedError("the API process is stopping")


def _settle(
    future: asyncio.Future[asyncpg.Record], row: asyncpg.Record | None = None, *, error: BaseException | None = None
) -> None:
    if future.done():  # its request was cancelled while the call ran; the outcome stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(row)
