"""Named queries (db/sql/queries) through Procrastinate's connector.

The worker's heartbeat and the maintenance tasks run on Procrastinate's psycopg
connector, not on the tasks' asyncpg pool (core/database/gateway.py): its queries ride
out a database outage (jobs/outage.py), and its sessions commit without waiting for the
WAL flush, which suits bookkeeping and recomputations (jobs/app.py). The calls read like
the gateway's (`await ConnectorDb(connector).fetchrow("key", name=value)`); psycopg takes
`%(name)s` placeholders, so each query's `$n` (core/database/queries.py) is turned back
into its name, once per query.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import psycopg
from procrastinate.connector import BaseConnector
from psycopg import sql

from core.database.queries import QUERIES, Query

_PLACEHOLDER = re.compile(r"\$(\d+)(?!\d)")


@functools.cache
def pyformat(query: Query) -> str:
    """The query's SQL with psycopg's placeholders: `$n` back to `%(name)s`."""
    # psycopg reads every `%` as the start of a placeholder: a literal one is doubled.
    return _PLACEHOLDER.sub(lambda m: f"%({query.params[int(m.group(1)) - 1]})s", query.sql.replace("%", "%%"))


def _sql(key: str, params: dict[str, Any]) -> str:
    query = QUERIES[key]
    query.args(params)  # a missing or unknown name is a bug: raises TypeError
    return pyformat(query)


class ConnectorDb:
    """The connector's one-statement queries by name (each its own autocommit transaction)."""

    __slots__ = ("connector",)

    def __init__(self, connector: BaseConnector) -> None:
        self.connector = connector

    async def fetchrow(self, key: str, /, **params: Any) -> dict[str, Any]:
        return await self.connector.execute_query_one_async(_sql(key, params), **params)

    async def fetch(self, key: str, /, **params: Any) -> list[dict[str, Any]]:
        return await self.connector.execute_query_all_async(_sql(key, params), **params)


async def assume_role(connection: psycopg.AsyncConnection, role: str) -> None:
    """MUKTI_DB_ROLE for a connection of Procrastinate's pool as it opens (jobs/app.py), as
    core/database/scope.py's assume_role does for the tasks' asyncpg pool. A session
    setting: these connections are direct, never through a transaction-mode pooler (the
    worker LISTENs on them)."""
    await connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
