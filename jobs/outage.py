"""Riding out a database outage in the worker (a restart, a failover, a network cut).

Procrastinate 3.10 stops its worker at the first connection error: the LISTEN side task
fails to reconnect ("Side task listener failed"), the heartbeat or the fetch loop raises,
and the worker shuts down, with exit code 0 when a side task was the cause. Here every
query Procrastinate makes goes through an `OutageGuard`: a failure that means "the
database is out of reach" (core.database.failures) is retried with capped exponential
backoff until it succeeds, so an outage looks to the worker like a slow database:
  - the fetch loop waits, then goes on fetching;
  - a job that finished during the outage has its outcome recorded once the database is
    back (giving up would leave it 'doing' under a live worker, which no sweeper retries);
  - the heartbeat resumes; the listener reconnects and LISTENs again (jobs queued between
    the reconnection and the LISTEN are found by the poll, `MUKTI_WORKER_POLL_INTERVAL`).
The guard gives up after `MUKTI_WORKER_GIVE_UP_AFTER` seconds of continuous outage: it
logs it and asks the worker to stop, and the process exits non-zero so a supervisor
(`mukti up`, systemd) restarts it. Once the worker is stopping, failures are no longer
retried: shutdown must not wait for a database that is gone (the jobs it leaves 'doing'
are retried by the sweeper once its heartbeat is stale).

The tasks' own queries (asyncpg, jobs/resources.py) are not retried here: a task that
cannot reach the database fails, and its retry strategy (jobs/backoff.py) runs it again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import procrastinate
from procrastinate import connector as procrastinate_connector
from procrastinate import exceptions as procrastinate_exceptions

from core.database.failures import is_database_unavailable

log = logging.getLogger("mukti.worker")

T = TypeVar("T")

FIRST_DELAY = 0.1  # seconds before the first retry
MAX_DELAY = 5.0  # a restart takes seconds: never wait much longer than that between tries
STILL_DOWN_EVERY = 30.0  # seconds between "still unreachable" log lines


class DatabaseGone(Exception):
    """The database stayed out of reach longer than the guard was told to wait."""


def retry_delay(attempt: int, rand: random.Random | None = None) -> float:
    """0.1 s, 0.2 s, 0.4 s, ... capped at MAX_DELAY, with jitter so that the workers of
    a fleet do not all knock at once when the database comes back."""
    base = min(FIRST_DELAY * 2**attempt, MAX_DELAY)
    return base * (rand or random).uniform(0.5, 1.0)


class OutageGuard:
    """Shared by every database call of one worker process: knows since when the database
    has been unreachable, retries, logs an outage once (start, progress, end), gives up."""

    def __init__(self, give_up_after: float, on_give_up: Callable[[], object] | None = None) -> None:
        self.give_up_after = give_up_after
        self._on_give_up = [] if on_give_up is None else [on_give_up]
        self.down_since: float | None = None
        self.gave_up = False
        self._stopping = asyncio.Event()
        self._last_report = 0.0

    def also_on_give_up(self, callback: Callable[[], object]) -> None:
        self._on_give_up.append(callback)

    def stop_retrying(self) -> None:
        """The worker is stopping: from now on a failure is raised at once."""
        self._stopping.set()

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                result = await operation()
            except Exception as exc:
                await self.failed(exc, attempt)
                attempt += 1
                continue
            self.succeeded()
            return result

    async def failed(self, exc: Exception, attempt: int) -> None:
        """Called with a failed call's error: returns after a backoff wait when the call
        should be tried again; raises otherwise (a query's own error, stopping, giving up)."""
        if not is_database_unavailable(exc) or self._stopping.is_set():
            raise exc
        now = time.monotonic()
        if self.down_since is None:
            self.down_since, self._last_report = now, now
            log.warning(
                "database unreachable (%s: %s); retrying for up to %.0f s",
                type(exc).__name__,
                _cause(exc),
                self.give_up_after,
            )
        elif now - self._last_report >= STILL_DOWN_EVERY:
            self._last_report = now
            log.warning("database still unreachable after %.0f s", now - self.down_since)
        if now - self.down_since >= self.give_up_after:
            self._give_up(now - self.down_since)
            raise DatabaseGone(f"database unreachable for {now - self.down_since:.0f} s") from exc
        # The wait never runs past the deadline: the last try comes when the configured
        # time is up, not up to MAX_DELAY later.
        delay = min(retry_delay(attempt), self.down_since + self.give_up_after - now)
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except TimeoutError:
            return
        raise exc  # stopping while waiting

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning("database reachable again after %.1f s", time.monotonic() - self.down_since)
            self.down_since = None

    def _give_up(self, down_for: float) -> None:
        if self.gave_up:
            return
        self.gave_up = True
        self._stopping.set()
        log.error(
            "database unreachable for %.0f s (MUKTI_WORKER_GIVE_UP_AFTER=%.0f): giving up, the worker "
            "stops with a failure exit code so that its supervisor restarts it",
            down_for,
            self.give_up_after,
        )
        for callback in self._on_give_up:
            callback()


def _cause(exc: BaseException) -> BaseException:
    # Procrastinate's ConnectorException says nothing itself; the driver's error does.
    return exc.__cause__ if isinstance(exc, procrastinate_exceptions.ConnectorException) and exc.__cause__ else exc


class ResilientConnector(procrastinate.PsycopgConnector):
    """Procrastinate's psycopg connector whose queries and LISTEN outlive an outage."""

    def __init__(self, *, guard: OutageGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard
        self._abandoning: asyncio.Task[None] | None = None
        guard.also_on_give_up(self._abandon_pool)

    def _abandon_pool(self) -> None:
        """The guard gave up: the pool closes now, so that a query waiting for a connection
        fails at once instead of after the acquire timeout, as every later one does; the
        shutdown that follows (each running job records its outcome) waits for nothing."""
        if self._async_pool is not None and self._abandoning is None:
            # psycopg_pool waits up to `timeout` for its own tasks, which may be connecting.
            self._abandoning = asyncio.create_task(self._async_pool.close(timeout=1.0))

    async def close_async(self) -> None:
        try:
            if self._abandoning is not None:
                # Shielded: a cancel pending on the caller (giving up cancels the worker's
                # main task) must not cancel the close itself.
                await asyncio.shield(self._abandoning)
        except Exception:
            log.warning("closing the pool after giving up failed", exc_info=True)
        finally:
            await super().close_async()

    async def execute_query_async(self, query, **arguments: Any) -> None:
        run = super().execute_query_async
        return await self.guard.call(lambda: run(query, **arguments))

    async def execute_query_one_async(self, query, **arguments: Any) -> dict[str, Any]:
        run = super().execute_query_one_async
        return await self.guard.call(lambda: run(query, **arguments))

    async def execute_query_all_async(self, query, **arguments: Any) -> list[dict[str, Any]]:
        run = super().execute_query_all_async
        return await self.guard.call(lambda: run(query, **arguments))

    async def listen_notify(self, on_notification: procrastinate_connector.Notify, channels: Iterable[str]) -> None:
        # Procrastinate's loop reconnects after a lost connection but raises when the new
        # connection is refused: here that waits and tries again, LISTENing anew each time.
        channels = list(channels)
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                await super().listen_notify(on_notification, channels)
            except Exception as exc:
                if time.monotonic() - started > MAX_DELAY:
                    attempt = 0  # it was listening: a new outage starts its backoff over
                await self.guard.failed(exc, attempt)
                attempt += 1
