"""Every way the database can be out of reach is one answer: 503 database_unavailable with
Retry-After, through the one exception map (api/errors.py); query errors keep theirs."""

from __future__ import annotations

import asyncpg
import psycopg
import pytest
from litestar import get
from litestar.testing import create_test_client

from api.errors import EXCEPTION_HANDLERS
from core.database.failures import is_database_unavailable

UNAVAILABLE = [
    asyncpg.CannotConnectNowError("the database system is starting up"),  # 57P03
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
    asyncpg.CrashShutdownError("crash"),  # 57P02
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),  # 53300
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),  # class 08
    asyncpg.InterfaceError("connection is closed"),
    ConnectionRefusedError(111, "Connection refused"),
    FileNotFoundError(2, "No such file or directory"),  # a Unix socket gone while the server is down
    TimeoutError(),  # pool acquire (or connect) timeout
    asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
]

NOT_UNAVAILABLE = [
    asyncpg.UniqueViolationError("duplicate key"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    ValueError("a bug"),
]


def _client(exc: BaseException):
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise exc

    return create_test_client([boom], exception_handlers=EXCEPTION_HANDLERS)


@pytest.mark.parametrize("exc", UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_connection_failures_are_503_database_unavailable(exc, caplog):
    with _client(exc) as client:
        response = client.get("/boom")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("exc", NOT_UNAVAILABLE, ids=lambda e: f"{type(e).__name__}:{e}")
def test_other_errors_keep_their_answer(exc):
    assert not is_database_unavailable(exc)
    with _client(exc) as client:
        assert client.get("/boom").status_code in (409, 500)


def test_psycopg_errors_are_classified_through_procrastinate_wrapping():
    from procrastinate.exceptions import ConnectorException

    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    wrapped = ConnectorException()
    wrapped.__cause__ = lost
    assert is_database_unavailable(wrapped)
    from psycopg_pool import PoolTimeout

    assert is_database_unavailable(PoolTimeout("couldn't get a connection after 30.00 sec"))
    query_error = ConnectorException()
    query_error.__cause__ = psycopg.errors.UndefinedTable("relation does not exist")
    assert not is_database_unavailable(query_error)
