"""Batch lines: calls that queue for a process's connections reach Postgres together.

Every call that writes costs Postgres a transaction: a commit, a WAL flush, a round trip
each way. Under load a process's calls queue for its few connections anyway, so here they
queue in one line instead, and each of at most `senders` tasks takes everything waiting (up
to `max_batch`) and sends it as one call of a batch function: one transaction for all of
them, each item still exactly one call of the single function inside it. A call that finds
a sender free goes at once, alone, as the single function: batching adds no wait, it fills
the waits the pool imposed already (docs/performance.md "Accept batches").

Two lines use it: the API's accepted questions (api/conversations/batches.py) and the
worker's stored replies (jobs/replies.py). A subclass says how one item is sent alone and
how a batch is sent; the rules below are the same for both.

Failures:
- An item that waited in the line longer than the line's patience (the API's:
  MUKTI_DB_ACQUIRE_TIMEOUT; the worker's replies wait without limit) is not sent: it gets
  TimeoutError (a 503 in the API), as it would have waiting for a connection. (One
  taken just in time may then wait for a connection as long again: at most twice that.)
- A batch that fails with the transaction surely rolled back (an error of the server,
  such as a check, a deadlock, a lock or statement timeout; or of the client before it sent
  anything, such as a value it cannot encode) is sent again item by item, in the order they
  came, so that each gets its own outcome or error, as alone.
- A batch cut off by the database going away, or by asyncpg's command timeout, gives every
  item in it that error (core/database/failures.py): whether it committed is unknown, as
  for a single call, and sending it again could do an item twice.
- A caller cancelled while its item waits here writes nothing: its item is dropped before
  it is sent. Once sent, it commits or fails with the others.
- An item the batch function left unwritten because its rows were locked elsewhere (a
  line whose `is_held` says so: the worker's replies) joins the line again a little later
  (0.1 s, doubling to 2 s), so that it holds up neither its batch nor the sender.
- Closing waits for what is in flight up to a timeout, then cuts the senders off; items
  still waiting, or held, get the error of a stopping process (they were not written).
"""

from __future__ import annotations

import abc
import asyncio
import copy
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from core.database.failures import is_database_unavailable

log = logging.getLogger(__name__)

Item = TypeVar("Item")

# When a held item comes back: after 0.1 s, then twice as long each time, at most 2 s.
_HELD_FIRST_WAIT = 0.1
_HELD_LONGEST_WAIT = 2.0
# How long a closing line lets its cut-off senders unwind (asyncpg cancels their query).
_UNWIND = 1.0


@dataclass(slots=True, eq=False)  # (each one itself: kept in sets)
class _Waiting(Generic[Item]):
    item: Item
    future: asyncio.Future[asyncpg.Record]
    since: float  # the loop's time when it first joined the line
    held: int = 0  # how many times its rows were found locked elsewhere


class BatchLine(abc.ABC, Generic[Item]):
    """One line of calls of one kind; `submit` an item, get the single function's row."""

    def __init__(
        self,
        *,
        senders: int,
        max_batch: int,
        patience: float,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        """`patience`: how long an item may wait to be sent (the pool's acquire timeout);
        `on_batch(outcome, size)` is told of every batch of two or more: 'committed',
        'sent_alone' (refused, then sent one by one) or 'failed' (the database went away or
        did not answer in time); and of the items of any call found held (`is_held`), as
        'held' with their number."""
        if senders < 1 or max_batch < 1:
            raise ValueError("a batch line needs at least one sender and batches of at least one")
        self._senders = senders
        self._max_batch = max_batch
        self._patience = patience
        self._on_batch = on_batch
        self._waiting: deque[_Waiting[Item]] = deque()
        self._active = 0  # senders sending or about to: counted down as one stops looking
        self._running: set[asyncio.Task[None]] = set()
        self._sent: set[_Waiting[Item]] = set()  # in a call now
        self._held: dict[_Waiting[Item], asyncio.TimerHandle] = {}  # to join the line again
        self._closed = False

    @abc.abstractmethod
    async def send_alone(self, item: Item) -> asyncpg.Record | None:
        """The single function's row for one item, sent in a transaction of its own."""

    @abc.abstractmethod
    async def send_batch(self, items: Sequence[Item]) -> list[asyncpg.Record]:
        """One call of the batch function: a row per item, with `item`, its 1-based place."""

    def is_held(self, row: asyncpg.Record) -> bool:
        """Whether the call left this item unwritten, its rows locked elsewhere for too long:
        it is sent again a little later. None by default."""
        return False

    async def submit(self, item: Item) -> asyncpg.Record:
        """The single function's row for `item`, or the error its call raised; TimeoutError
        when it waited longer than the patience to be sent, as it would have for a connection."""
        if self._closed:
            raise _stopping()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[asyncpg.Record] = loop.create_future()
        self._waiting.append(_Waiting(item, future, loop.time()))
        self._start_sender()
        return await future

    async def close(self, timeout: float) -> None:
        """Take no more items and wait for those in the line and in flight (the pool must
        stay open until then), `timeout` seconds at most: senders still busy then are
        cancelled, and their items get the error of a call cut off (outcome unknown)."""
        self._closed = True
        for waiting, comeback in self._held.items():
            comeback.cancel()
            _settle(waiting.future, error=_stopping())
        self._held.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while self._running and (remaining := deadline - loop.time()) > 0:
                await asyncio.wait(set(self._running), timeout=remaining)
        finally:  # (also when the close itself is cancelled)
            self._cut_off()
        if self._running:
            await asyncio.wait(set(self._running), timeout=_UNWIND)

    def _cut_off(self) -> None:
        for task in self._running:
            task.cancel()
        for waiting in self._sent:
            _settle(waiting.future, error=_cut_off())
        while self._waiting:
            _settle(self._waiting.popleft().future, error=_stopping())

    def _start_sender(self) -> None:
        if self._waiting and self._active < self._senders:
            self._active += 1
            task = asyncio.create_task(self._send_until_none_waits())
            self._running.add(task)
            task.add_done_callback(self._sender_stopped)

    def _sender_stopped(self, task: asyncio.Task[None]) -> None:
        # A done callback: it runs for every sender, one cancelled before its first step
        # too. An item queued while this sender was stopping, and found every sender
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
            self._sent.update(batch)
            try:
                if len(batch) == 1:
                    await self._send_one(batch[0])
                elif batch:
                    await self._send_together(batch)
            except Exception as error:  # a bug of ours: its items get it, the line goes on
                for waiting in batch:
                    _settle(waiting.future, error=error)
            finally:
                # Only a sender cancelled mid-call leaves any unsettled: whether its call
                # committed is unknown (an OSError: 503, as a lost connection).
                self._sent.difference_update(batch)
                for waiting in batch:
                    if waiting not in self._held:
                        _settle(waiting.future, error=_cut_off())

    def _take(self) -> list[_Waiting[Item]]:
        """Up to max_batch items from the head of the line: those whose caller was
        cancelled meanwhile dropped, those that waited too long refused."""
        now = asyncio.get_running_loop().time()
        batch: list[_Waiting[Item]] = []
        while self._waiting and len(batch) < self._max_batch:
            waiting = self._waiting.popleft()
            if waiting.future.done():
                continue
            if now - waiting.since > self._patience:
                _settle(waiting.future, error=TimeoutError("the call waited too long for the database"))
                continue
            batch.append(waiting)
        return batch

    async def _send_one(self, waiting: _Waiting[Item]) -> None:
        try:
            row = await self.send_alone(waiting.item)
            if row is None:
                raise RuntimeError(f"{type(self).__name__}: the single call returned no row")
        except Exception as error:
            _settle(waiting.future, error=error)
        else:
            self._answer([(waiting, row)])

    async def _send_together(self, batch: list[_Waiting[Item]]) -> None:
        try:
            rows = await self.send_batch([waiting.item for waiting in batch])
        except Exception as error:
            # Unknown whether it committed: the connection went away, or asyncpg's command
            # timeout cancelled it (TimeoutError, an OSError: the commit may have won).
            # Otherwise Postgres rolled it back, or the driver sent nothing.
            if is_database_unavailable(error):
                self._count("failed", len(batch))
                for waiting in batch:
                    # Each caller re-raises it: a copy each, so tracebacks do not pile up.
                    _settle(waiting.future, error=copy.copy(error))
                return
            self._count("sent_alone", len(batch))
            # One by one, in the order they came: one connection, as this sender's share of
            # the pool, and one user's items done in the order they were asked.
            for waiting in batch:
                if not waiting.future.done():  # a caller cancelled meanwhile writes nothing
                    await self._send_one(waiting)
            return
        self._count("committed", len(batch))
        self._answer([(batch[row["item"] - 1], row) for row in rows])

    def _answer(self, answers: list[tuple[_Waiting[Item], asyncpg.Record]]) -> None:
        """Each caller its row, but a held item, which joins the line again later."""
        held = 0
        for waiting, row in answers:
            if not self.is_held(row):
                _settle(waiting.future, row)
            elif self._closed:
                _settle(waiting.future, error=_stopping())
            elif not waiting.future.done():
                held += 1
                waiting.held += 1
                wait = min(_HELD_FIRST_WAIT * 2 ** (waiting.held - 1), _HELD_LONGEST_WAIT)
                self._held[waiting] = asyncio.get_running_loop().call_later(wait, self._come_back, waiting)
        if held:
            self._count("held", held)

    def _come_back(self, waiting: _Waiting[Item]) -> None:
        del self._held[waiting]
        self._waiting.append(waiting)
        self._start_sender()

    def _count(self, outcome: str, size: int) -> None:
        if self._on_batch is not None:
            try:
                self._on_batch(outcome, size)
            except Exception:  # a metric must not cost an item its outcome
                log.exception("%s: the batches' counter failed", type(self).__name__)


def _stopping() -> ConnectionAbortedError:
    # An OSError: the API answers 503, as for a database out of reach.
    return ConnectionAbortedError("the process is stopping")


def _cut_off() -> ConnectionAbortedError:
    return ConnectionAbortedError("the call was cut off: outcome unknown")


def _settle(
    future: asyncio.Future[asyncpg.Record], row: asyncpg.Record | None = None, *, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled while the call ran; the outcome stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(row)
