"""Routing lag-tolerant reads to a streaming standby (MUKTI_REPLICA_URL).

A `ReadRouter` holds the primary's pool and the replica's, and checks the replica every
`replica_check_interval` seconds: how far it is behind the primary, or that it is down.
`router.reads()` is what a lag-tolerant route reads through: the replica while it is up
and at most `replica_max_lag` seconds behind, the primary otherwise. A read that finds
the replica gone (between two checks) is retried on the primary at once, so a standby
that stops costs no request an error.

Only routes that may show data a few seconds old read through it (search, older history
pages, usage series, library listings, reports). Everything that must read its own
writes — a page just asked for, a conversation just created, the queue position, a vote —
keeps using the primary's pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from core.database.queries import QUERIES
from core.database.scope import ScopedConnection
from core.settings import Settings

log = logging.getLogger("mukti.replica")

T = TypeVar("T")

# What a standby that is stopping, stopped or unreachable raises: the read is retried on
# the primary. (Also the standby's cancellation of a query that conflicts with recovery;
# InterfaceError is asyncpg's "connection is closed".)
REPLICA_GONE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.SerializationError,
)


class ReadRouter:
    def __init__(
        self,
        settings: Settings,
        primary: asyncpg.Pool,
        replica: asyncpg.Pool | None,
        on_read: Callable[[str], None] = lambda server: None,
    ) -> None:
        self.primary, self.replica, self.on_read = primary, replica, on_read
        self.max_lag, self.interval = settings.replica_max_lag, settings.replica_check_interval
        # Seconds behind the primary at the last check; None: down, unreachable or not a standby.
        self.lag: float | None = None
        self._task: asyncio.Task | None = None
        self._problem: str | None = None  # what the last check found wrong, logged once

    @property
    def usable(self) -> bool:
        return self.replica is not None and self.lag is not None and self.lag <= self.max_lag

    async def check(self) -> float | None:
        """Measure the replica's lag now: 0 when it has replayed everything the primary had
        written when asked, else the age of the last transaction it replayed."""
        if self.replica is None:
            return None
        problem = None
        try:
            async with asyncio.timeout(max(self.interval, 1.0)):
                # Under the gateway (which routes through this module), so the queries' SQL
                # directly; replica_lag_seconds has one parameter, the primary's position.
                position = await self.primary.fetchval(QUERIES["primary_wal_position"].sql)
                lag = await self.replica.fetchval(QUERIES["replica_lag_seconds"].sql, position)
        except (*REPLICA_GONE, asyncpg.PostgresError) as exc:
            lag, problem, detail = None, f"unavailable ({type(exc).__name__})", f": {exc}"
        else:
            detail = ""
            if lag is None:
                problem = "is not a standby (or has replayed nothing yet)"
        if problem != self._problem and problem is not None:
            log.warning("read replica %s%s: lag-tolerant reads go to the primary", problem, detail)
        elif problem != self._problem:
            log.info("read replica reachable again, %.1f s behind", lag)
        self._problem = problem
        self.lag = lag
        return lag

    async def _watch(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                # A lag that stopped being measured must not keep its last value.
                log.exception("checking the read replica failed: lag-tolerant reads go to the primary")
                self.lag = None
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        if self.replica is not None:
            await self.check()
            self._task = asyncio.create_task(self._watch(), name="mukti-replica-lag")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.replica is not None:
            await self.replica.close()

    async def run(self, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`read(conn)` on the replica when it is usable, else (or when it fails for want of
        a replica) on the primary. `read` must only read: it may run twice."""
        if self.usable and self.replica is not None:
            try:
                async with self.replica.acquire() as conn:
                    result = await read(conn)
                self.on_read("replica")
                return result
            except asyncpg.DataError:
                raise  # bad arguments (an InterfaceError too): a bug, not a lost replica
            except REPLICA_GONE as exc:
                log.warning("read replica failed (%s): this read and the next go to the primary", exc)
                self.lag = None
        async with self.primary.acquire() as conn:
            result = await read(conn)
        self.on_read("primary")
        return result

    def reads(self, scope_sql: str, lag_tolerant: bool = True) -> Reads:
        """Reads in the Row-Level Security scope `scope_sql` (core/database/scope.py)."""
        return Reads(self, scope_sql, lag_tolerant)


class Reads:
    """Where one route reads, in one Row-Level Security scope (core/database/scope.py): the
    pool's methods the services call (fetch, fetchrow, fetchval) and `run` for several
    reads in one transaction. Lag-tolerant reads go through the router; the others stay on
    the primary, so a service takes either."""

    def __init__(self, router: ReadRouter, scope_sql: str, lag_tolerant: bool) -> None:
        self.router, self.scope_sql, self.lag_tolerant = router, scope_sql, lag_tolerant

    def on_primary(self) -> Reads:
        return Reads(self.router, self.scope_sql, lag_tolerant=False)

    async def run(self, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        async def scoped(conn: asyncpg.Connection) -> T:
            # One read-only transaction with the scope (a standby allows no other kind).
            scoped_conn = ScopedConnection(conn, self.scope_sql)
            async with scoped_conn.transaction(readonly=True):
                return await read(conn)

        if self.lag_tolerant:
            return await self.router.run(scoped)
        async with self.router.primary.acquire() as conn:
            return await scoped(conn)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self.run(lambda conn: conn.fetch(query, *args))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self.run(lambda conn: conn.fetchrow(query, *args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self.run(lambda conn: conn.fetchval(query, *args))
