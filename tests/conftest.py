"""Shared fixtures: one Postgres per session, a migrated template database built once,
and a fresh clone of it for every test that asks for a database."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from cli import migrate
from core.settings import Settings
from tests.harness import (
    PgServer,
    drop_stale_databases,
    find_server,
    janitor,
    unique_name,
)
from tests.leaks import ResponseRecorder
from tests.live_app import live_client

CLONE_TIMES: list[float] = []

# Tests log in as a superuser, whom Row-Level Security never applies to: the app under
# test (in process, and the `mukti api`/`worker` processes tests start, which inherit
# the environment) acts as the app role, as in production (docs/privacy.md).
APP_ROLE = "mukti_app"
os.environ.setdefault("MUKTI_DB_ROLE", APP_ROLE)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server, embedded = find_server()
    drop_stale_databases(server)
    try:
        yield server
    finally:
        if embedded is not None:
            embedded.stop()


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> Iterator[str]:
    """A database migrated to head with Alembic, once per session; tests clone it."""
    name = unique_name("mukti_tpl")
    tpl = janitor(pg_server, name)
    tpl.init()
    try:
        migrate(pg_server.url(name))
        with pg_server.connect() as conn:
            conn.autocommit = True
            conn.execute(f'ALTER DATABASE "{name}" WITH is_template true')
        yield name
    finally:
        with pg_server.connect() as conn:
            conn.autocommit = True
            conn.execute(f'ALTER DATABASE "{name}" WITH is_template false')
        tpl.drop()


@pytest.fixture
def database_url(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """A fresh database cloned from the migrated template, dropped after the test."""
    name = unique_name("mukti_t")
    clone = janitor(pg_server, name, template=template_db)
    started = time.perf_counter()
    clone.init()
    CLONE_TIMES.append(time.perf_counter() - started)
    try:
        yield pg_server.url(name)
    finally:
        clone.drop()


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Every in-process request comes from one client address: no registration throttle
    # in the way of tests that register many accounts (test_accounts_abuse.py sets its own).
    return Settings(database_url=database_url, worker_concurrency=10, db_role=APP_ROLE, register_per_address=1000)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test database, for arranging and checking rows."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, on the test database (lifespan run: the pool is open), serving
    requests concurrently: `asyncio.gather` over it is real concurrency (see tests/live_app.py).

    Every JSON response it sees is checked, at teardown, for password and token hashes."""
    recorder = ResponseRecorder()
    async with live_client(settings) as test_client:
        test_client.event_hooks["response"].append(recorder)
        yield test_client
    await recorder.assert_no_secrets(settings.require_database_url())


def pytest_terminal_summary(terminalreporter) -> None:
    if CLONE_TIMES:
        ordered = sorted(CLONE_TIMES)
        median = ordered[len(ordered) // 2]
        terminalreporter.write_line(
            f"test databases cloned from the template: {len(ordered)}, "
            f"median {median * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
        )
