"""`mukti analyst create|revoke`: an analyst logs in over TCP with a password, gets the
analyst's privileges and, in the session itself, its timeouts and read-only default.
On a throwaway cluster that requires SCRAM passwords (the shared server trusts TCP)."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest

from bench.common import free_port
from cli import migrate
from tests.harness import ScramCluster

PASSWORD = "correct horse battery"


def _mukti(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "cli", "analyst", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def _login(port: int, user: str, password: str) -> asyncpg.Connection:
    return await asyncpg.connect(host="127.0.0.1", port=port, user=user, password=password, database="mukti", ssl=False)


@pytest.fixture(scope="module")
def cluster():
    reason = ScramCluster.available()
    if reason:
        pytest.skip(f"cannot start a throwaway Postgres for password logins: {reason}")
    server = ScramCluster(free_port())
    pg = server.start()
    try:
        with pg.connect(autocommit=True) as conn:
            conn.execute("CREATE DATABASE mukti")
        migrate(pg.url("mukti"))
        yield server, pg
    finally:
        server.stop()


async def test_an_analyst_logs_in_over_tcp_with_the_analyst_limits(cluster):
    server, pg = cluster
    url = pg.url("mukti")
    created = _mukti(url, "create", "--name", "alice", "--password", PASSWORD)
    assert created.returncode == 0, created.stderr

    with pytest.raises(asyncpg.InvalidPasswordError):
        await _login(server.port, "alice", "not the password")
    conn = await _login(server.port, "alice", PASSWORD)
    try:
        assert await conn.fetchval("SELECT inet_server_addr()::text") == "127.0.0.1/32"  # TCP, not the socket
        assert await conn.fetchval("SHOW statement_timeout") == "5min"
        assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "10min"
        assert await conn.fetchval("SHOW default_transaction_read_only") == "on"
        assert await conn.fetchval("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'alice'") == 3
        views = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'analytics' AND c.relkind IN ('v', 'm', 'r')"
        )
        assert len(views) >= 12
        for view in views:
            await conn.fetch(f"SELECT * FROM analytics.{view['relname']} LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT email FROM users LIMIT 1")
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("CREATE TEMP TABLE scratch (x int)")
    finally:
        await conn.close()

    generated = _mukti(url, "create", "--name", "bob")
    assert generated.returncode == 0, generated.stderr
    password = generated.stdout.split("password: ", 1)[1].strip()
    await (await _login(server.port, "bob", password)).close()

    assert _mukti(url, "create", "--name", "alice", "--password", PASSWORD).returncode == 2  # exists
    assert _mukti(url, "create", "--name", "Robert'); --", "--password", PASSWORD).returncode == 2
    refused = _mukti(url, "revoke", "--name", "postgres")
    assert refused.returncode == 2 and "not an analyst login" in refused.stderr

    session = await _login(server.port, "alice", PASSWORD)
    revoked = _mukti(url, "revoke", "--name", "alice")
    assert revoked.returncode == 0, revoked.stderr
    assert session.is_closed() or await _closed_by_server(session)
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        await _login(server.port, "alice", PASSWORD)


async def _closed_by_server(conn: asyncpg.Connection) -> bool:
    """The revoke ended the session: its next statement fails."""
    try:
        await conn.fetchval("SELECT 1")
    except (
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.InterfaceError,
    ):
        return True
    return False
