"""The one way code reaches the database: named queries, named parameters, one scope.

    rows = await db.fetch("conversations_list", user_id=user_id, after_at=None, after_id=None, limit=21)

A key names a block of `db/sql/queries/*.sql` (core/database/queries.py) and is always a
literal, so grep finds every caller of a query (tests/unit/test_query_keys.py enforces it).
A `Db` carries the Row-Level Security scope its statements run in (core/database/scope.py):
the API's dependency injection hands each handler one scoped to the caller
(api/database.py); `as_service(why)` is the same database as `mukti_service`, for paths
that act for no single user; `reads()` may be served by the read replica
(core/database/replica.py). The worker builds its own from its pool.

Outside a transaction every call is a transaction of its own (scope, statement, commit);
`async with db.transaction() as tx:` runs several in one, and `tx.connection` is the raw
asyncpg connection for what is not a named query (LISTEN, COPY).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import asyncpg

from core.database.queries import QUERIES, Query
from core.database.replica import ReadRouter, Reads
from core.database.scope import ScopedConnection, ScopedPool, service_scope_sql, user_scope_sql

T = TypeVar("T")


class Db:
    """Named queries on a pool, a transaction or the read router, in one scope."""

    __slots__ = ("pool", "router", "scope_sql", "_target")

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        router: ReadRouter | None = None,
        scope_sql: str | None = None,
        _target: Any = None,
    ) -> None:
        self.pool, self.router, self.scope_sql = pool, router, scope_sql
        # What statements go to: the pool (scoped or not), a connection in a transaction,
        # or the read router's Reads. Each offers fetch/fetchrow/fetchval(sql, *args).
        self._target = _target if _target is not None else (ScopedPool(pool, scope_sql) if scope_sql else pool)

    @classmethod
    def on(cls, conn: asyncpg.Connection) -> Db:
        """Named queries on a connection the caller holds (benchmarks, tests, maintenance
        scripts): statements go to it as they are, in whatever transaction it is in."""
        return cls(conn, _target=conn)

    # Scopes -------------------------------------------------------------------------------

    def for_user(self, user_id: str) -> Db:
        """Statements that see (and may write) only `user_id`'s rows, and the community's."""
        return Db(self.pool, router=self.router, scope_sql=user_scope_sql(user_id))

    def as_service(self, why: str) -> Db:
        """Statements as `mukti_service`, which every row policy admits. Only for paths that
        act for no single user; `why` says which, and is logged with the statement."""
        return Db(self.pool, router=self.router, scope_sql=service_scope_sql(why))

    def reads(self, lag_tolerant: bool = True) -> Db:
        """Reads in this scope that the read replica may serve when `lag_tolerant` (each in a
        read-only transaction; on the primary when no replica is configured)."""
        if self.router is None:
            return self
        return Db(self.pool, router=self.router, scope_sql=self.scope_sql, _target=self._reads(lag_tolerant))

    def _reads(self, lag_tolerant: bool) -> Reads:
        assert self.router is not None
        return self.router.reads(self.scope_sql or "", lag_tolerant=lag_tolerant)

    def on_primary(self) -> Db:
        """The same reads, from the primary (after the replica was found behind)."""
        if isinstance(self._target, Reads):
            return Db(self.pool, router=self.router, scope_sql=self.scope_sql, _target=self._target.on_primary())
        return self

    # Statements ---------------------------------------------------------------------------

    @staticmethod
    def _query(key: str) -> Query:
        try:
            return QUERIES[key]
        except KeyError:
            raise KeyError(f"no query named {key!r} in db/sql/queries") from None

    async def fetch(self, key: str, /, **params: Any) -> list[asyncpg.Record]:
        query = self._query(key)
        return await self._target.fetch(query.sql, *query.args(params))

    async def fetchrow(self, key: str, /, **params: Any) -> asyncpg.Record | None:
        query = self._query(key)
        return await self._target.fetchrow(query.sql, *query.args(params))

    async def fetchval(self, key: str, /, **params: Any) -> Any:
        query = self._query(key)
        return await self._target.fetchval(query.sql, *query.args(params))

    async def execute(self, key: str, /, **params: Any) -> str:
        query = self._query(key)
        return await self._target.execute(query.sql, *query.args(params))

    async def executemany(self, key: str, rows: Iterable[Mapping[str, Any]], /) -> None:
        query = self._query(key)
        await self._target.executemany(query.sql, [query.args(row) for row in rows])

    # Transactions -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> AsyncIterator[Db]:
        """Several statements in one transaction of this scope, on one connection."""
        if isinstance(self._target, Reads):
            raise RuntimeError("reads() runs one statement per transaction: use run() for several")
        if isinstance(self._target, (asyncpg.Connection, ScopedConnection)):
            raise RuntimeError("already in a transaction")
        async with self.pool.acquire() as conn:
            if self.scope_sql:
                scoped_conn = ScopedConnection(conn, self.scope_sql)
                async with scoped_conn.transaction(
                    isolation=isolation, readonly=readonly, deferrable=deferrable
                ) as scoped:
                    yield Db(self.pool, router=self.router, scope_sql=self.scope_sql, _target=scoped)
            else:
                async with conn.transaction(isolation=isolation, readonly=readonly, deferrable=deferrable):
                    yield Db(self.pool, router=self.router, _target=conn)

    async def run(self, work: Callable[[Db], Awaitable[T]]) -> T:
        """`work(tx)` in one transaction: read-only on the replica for `reads()` (there it may
        run twice, when the replica is lost mid-way), else an ordinary one."""
        if isinstance(self._target, Reads):
            return await self._target.run(
                lambda conn: work(Db(self.pool, router=self.router, scope_sql=self.scope_sql, _target=conn))
            )
        async with self.transaction() as tx:
            return await work(tx)

    @property
    def connection(self) -> asyncpg.Connection:
        """The raw connection of a transaction, for what is not a named query."""
        target = self._target
        if isinstance(target, ScopedConnection):
            return target.raw
        if isinstance(target, asyncpg.Connection):
            return target
        raise RuntimeError("only a transaction has a connection: use `async with db.transaction() as tx`")
