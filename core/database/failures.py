"""Which errors mean "the database is out of reach" rather than "this query is wrong".

One answer for both drivers (asyncpg in the API and the tasks, psycopg under
Procrastinate): the API turns these into 503 `database_unavailable`, the worker waits
and tries again. Everything else (a constraint, a syntax error, a statement timeout) is
the query's own failure and is never retried blindly.
"""

from __future__ import annotations

import asyncpg

# The server going away or refusing sessions: admin_shutdown, crash_shutdown,
# cannot_connect_now (starting up, shutting down, in recovery), too_many_connections.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _sqlstate(exc: BaseException) -> str | None:
    # asyncpg: exc.sqlstate; psycopg: exc.sqlstate as well (None for client-side errors).
    return getattr(exc, "sqlstate", None)


def _is_psycopg_connection_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # the API process may run without psycopg
        return False
    if not isinstance(exc, psycopg.OperationalError):
        return False
    # No SQLSTATE: the client lost or could not open the connection (refused, reset,
    # closed by the server, pool timeout waiting for a connection).
    sqlstate = _sqlstate(exc)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


def _is_unavailable_one(exc: BaseException) -> bool:
    if isinstance(exc, OSError):  # refused, reset, unreachable, DNS, connect timeout
        return True
    if isinstance(exc, asyncpg.PostgresConnectionError):  # class 08: lost mid-query, rejected
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return _sqlstate(exc) in UNAVAILABLE_SQLSTATES
    # asyncpg's protocol state machine tripping over a connection the server has just
    # terminated ("cannot switch to state 12; another operation (2) is in progress"), seen
    # during a restart; the pool discards the connection on release.
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return True
    # asyncpg's own wording when a pooled connection was closed under a running handler.
    if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
        return True
    return _is_psycopg_connection_error(exc)


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc`, or an error it wraps (Procrastinate's ConnectorException wraps
    psycopg's), says the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _is_unavailable_one(current):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False
