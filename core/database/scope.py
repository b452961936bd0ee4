"""Whom a transaction acts for: the Row-Level Security scope (docs/privacy.md).

Every table with a `user_id` has policies keyed on the transaction-local setting
`mukti.user_id`: the app role sees the rows of the user set there, and none when none
is set. Paths that act for no single user (sign-in, shared links, billing webhooks,
moderation, admin, the worker's cross-user bookkeeping) take the role `mukti_service`
for the transaction instead, and say why.

This is the one place that sets either. Both are set with `set_config(..., true)` as
the first statement of a transaction, sent with its BEGIN in one round trip: they end
with the transaction, so nothing carries over to the next user of the connection, in
our pool or behind a transaction-mode pooler. A call outside an explicit transaction
runs in one of its own (BEGIN and scope, the statement, COMMIT), unless it carries the
SELF_SCOPED mark: a call of a SQL function that scopes its transaction to the user it is
given and refuses any other scope (mukti_submit_question_v7) runs alone, one round trip.

`for_user(pool, user_id)` and `as_service(pool, why)` wrap an asyncpg pool and offer
the pool methods the services use (`fetch`, `fetchrow`, `fetchval`, `execute`,
`acquire`, and `transaction`), so a service written against a pool takes a scoped one
unchanged. The database gateway calls these.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

USER_SETTING = "mukti.user_id"
SERVICE_ROLE = "mukti_service"

# The mark of a statement that scopes itself (see above), at the start of its text.
SELF_SCOPED = "/* scopes itself */"

_ISOLATION = {"read_committed": "READ COMMITTED", "repeatable_read": "REPEATABLE READ", "serializable": "SERIALIZABLE"}


_USER_SCOPE = f"SELECT set_config('{USER_SETTING}', "


def user_scope_sql(user_id: str) -> str:
    # A literal, so that it rides with BEGIN in one simple-protocol message: the value is
    # parsed as a UUID first (a ValueError otherwise), so nothing else can be spliced in.
    return f"{_USER_SCOPE}'{uuid.UUID(str(user_id))}', true)"


def service_scope_sql(why: str) -> str:
    # The reason travels as a comment: it shows in pg_stat_activity and statement logs.
    reason = why.replace("*/", "").replace("/*", "")
    return f"SELECT set_config('role', '{SERVICE_ROLE}', true) /* {reason} */"


def begin_sql(scope_sql: str, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False) -> str:
    modes = []
    if isolation is not None:
        modes.append(f"ISOLATION LEVEL {_ISOLATION[isolation]}")
    if readonly:
        modes.append("READ ONLY")
    if deferrable:
        modes.append("DEFERRABLE")
    return f"BEGIN {' '.join(modes)}; {scope_sql}"


class ScopedConnection:
    """A pooled connection whose every transaction starts with one scope."""

    def __init__(self, conn: asyncpg.Connection, scope_sql: str) -> None:
        self.raw = conn
        self._scope_sql = scope_sql

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> AsyncIterator[ScopedConnection]:
        if self.raw.is_in_transaction():
            raise RuntimeError("a scoped connection does not nest transactions")
        await self.raw.execute(
            begin_sql(self._scope_sql, isolation=isolation, readonly=readonly, deferrable=deferrable)
        )
        try:
            yield self
        except BaseException:
            # A connection broken mid-statement cannot roll back here: the pool's release
            # does (asyncpg rolls back a transaction left open), or drops the connection.
            with contextlib.suppress(Exception):
                await self.raw.execute("ROLLBACK")
            raise
        await self.raw.execute("COMMIT")

    async def _call(self, method: str, query: str, *args: Any, **kwargs: Any) -> Any:
        if self.raw.is_in_transaction() or (self._scope_sql.startswith(_USER_SCOPE) and query.startswith(SELF_SCOPED)):
            return await getattr(self.raw, method)(query, *args, **kwargs)
        async with self.transaction():
            return await getattr(self.raw, method)(query, *args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[asyncpg.Record]:
        return await self._call("fetch", query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> asyncpg.Record | None:
        return await self._call("fetchrow", query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call("fetchval", query, *args, **kwargs)

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> str:
        return await self._call("execute", query, *args, **kwargs)

    async def executemany(self, query: str, args: Any, **kwargs: Any) -> None:
        return await self._call("executemany", query, args, **kwargs)


class ScopedPool:
    """The pool as one user, or the service role, sees it."""

    def __init__(self, pool: asyncpg.Pool, scope_sql: str) -> None:
        self.raw = pool
        self._scope_sql = scope_sql

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[ScopedConnection]:
        async with self.raw.acquire() as conn:
            yield ScopedConnection(conn, self._scope_sql)

    @contextlib.asynccontextmanager
    async def transaction(self, **options: Any) -> AsyncIterator[ScopedConnection]:
        async with self.acquire() as conn, conn.transaction(**options):
            yield conn

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> asyncpg.Record | None:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args, **kwargs)

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> str:
        async with self.acquire() as conn:
            return await conn.execute(query, *args, **kwargs)

    async def executemany(self, query: str, args: Any, **kwargs: Any) -> None:
        async with self.acquire() as conn:
            return await conn.executemany(query, args, **kwargs)


def for_user(pool: asyncpg.Pool, user_id: str) -> ScopedPool:
    """Transactions that see (and may write) only `user_id`'s rows, and the community's."""
    return ScopedPool(pool, user_scope_sql(user_id))


def as_service(pool: asyncpg.Pool, why: str) -> ScopedPool:
    """Transactions as `mukti_service`, which every row policy admits. Only for paths that
    act for no single user; `why` says which, and is logged with the statement."""
    return ScopedPool(pool, service_scope_sql(why))


async def assume_role(conn: asyncpg.Connection, role: str) -> None:
    """Pool connection setup for MUKTI_DB_ROLE: a session that logs in as another role
    (a superuser in development and tests) acts as `role`, so that RLS applies to it
    as it does to the app in production. Session state: not behind a transaction-mode
    pooler (there, log in as mukti_app instead)."""
    quoted = '"' + role.replace('"', '""') + '"'
    await conn.execute(f"SET ROLE {quoted}")
