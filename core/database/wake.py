"""Coalesced wake-ups for idle workers (issue 18).

Procrastinate's per-row trigger sent a NOTIFY from every transaction that deferred a job.
Postgres serialises notifying commits (each holds the notification queue's lock until its
commit record is flushed), so at a few hundred questions a second the accept path queued
behind that lock. Migration 0018 keeps the trigger off the `questions` queue; instead the
API process calls `JobWaker.poke()` after each accepted question, and the waker sends at
most one NOTIFY per `window` seconds: the first poke after a quiet spell at once, the
pokes within the window as one NOTIFY at its end. One wake-up is enough: a woken worker
fetches jobs until none is left.

Nothing depends on a NOTIFY arriving: the worker polls every MUKTI_WORKER_POLL_INTERVAL,
so a dropped or failed NOTIFY (or an API process killed between commit and wake-up)
delays a pickup by at most one poll interval.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from core.database.failures import is_database_unavailable
from core.database.gateway import Db

log = logging.getLogger(__name__)


class JobWaker:
    def __init__(self, pool: asyncpg.Pool, *, window: float) -> None:
        self._db = Db(pool)
        self._window = window
        self._last_sent = float("-inf")
        self._scheduled: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def poke(self) -> None:
        """A job was committed: wake a worker within `window` seconds (never blocks)."""
        if self._scheduled is not None:
            return  # a NOTIFY is already due and will cover this job
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_sent + self._window - loop.time())
        self._scheduled = loop.call_later(delay, self._send)

    def _send(self) -> None:
        # Cleared before the NOTIFY goes out: a job committed from here on gets one of its own.
        self._scheduled = None
        self._last_sent = asyncio.get_running_loop().time()
        task = asyncio.create_task(self._notify())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _notify(self) -> None:
        try:
            await self._db.execute("jobs_wake_workers")
        except Exception as error:
            # Best effort: polling finds the job. asyncpg's InternalClientError (a connection
            # the server has just terminated, during a restart) is none of the classes below.
            if not (
                isinstance(error, (OSError, asyncpg.PostgresError, asyncpg.InterfaceError))
                or is_database_unavailable(error)
            ):
                raise
            log.warning("worker wake-up not sent (polling will find the job): %s", error)

    async def close(self) -> None:
        """Send what is due now, then wait for the NOTIFYs in flight."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._send()
        if self._sending:
            await asyncio.gather(*self._sending)
