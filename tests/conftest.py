"""Shared fixtures: one Postgres per session, a migrated template database built once,
and a fresh clone of it for every test that asks for a database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlparse

import asyncpg
import httpx
import pytest

from cli import migrate
from core.settings import Settings
from tests.harness import (
    ClonePool,
    PgServer,
    drop_stale_databases,
    find_server,
    janitor,
    unique_name,
)
from tests.leaks import ResponseRecorder
from tests.live_app import live_client
from tests.servers import PgBouncer, pgbouncer_binary

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


@pytest.fixture(scope="session")
def clones(pg_server: PgServer, template_db: str) -> Iterator[ClonePool]:
    pool = ClonePool(pg_server, template_db)
    CLONE_POOLS.append(pool)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def database_url(pg_server: PgServer, clones: ClonePool) -> Iterator[str]:
    """A fresh database cloned from the migrated template, dropped after the test."""
    name = clones.take()
    try:
        yield pg_server.url(name)
    finally:
        clones.give_back(name)


# Modules whose tests also run with the API's (and the worker's task) pool going through
# a real PgBouncer in transaction mode: each of their tests runs twice, [direct] and
# [pgbouncer]. Procrastinate's connector and the tests' own `db` connection stay direct.
THROUGH_PGBOUNCER = {
    "tests.integration.test_conversations_asking",
    "tests.integration.test_answering_flow",
    "tests.integration.test_answering_retries",
    "tests.integration.test_sharing_links",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__ in THROUGH_PGBOUNCER and "db_settings" in metafunc.fixturenames:
        metafunc.parametrize("db_settings", ["direct", "pgbouncer"], indirect=True)


@pytest.fixture(scope="session")
def pgbouncer(pg_server: PgServer) -> Iterator[PgBouncer]:
    """A real PgBouncer (transaction mode) in front of the test server, once per session."""
    if pgbouncer_binary() is None:
        pytest.skip(
            "pgbouncer is not installed (Debian: apt-get install pgbouncer): "
            "the tests through a transaction-mode pooler cannot run"
        )
    bouncer = PgBouncer(pg_server.host, pg_server.port, pg_server.user, pg_server.password)
    try:
        yield bouncer
    finally:
        bouncer.stop()


@pytest.fixture
def db_settings(request: pytest.FixtureRequest, database_url: str) -> dict:
    """The database part of Settings: direct (as the app role, Row-Level Security on), or
    (param "pgbouncer") DATABASE_URL through PgBouncer in transaction mode, configured as
    docs/operations.md says. MUKTI_DB_ROLE is a SET ROLE for the whole session, which a
    transaction-mode pooler cannot keep: behind one, the app connects as its role instead
    (here: the pooler's user), so that variant runs without it."""
    if getattr(request, "param", "direct") == "direct":
        return {"database_url": database_url, "db_role": APP_ROLE}
    bouncer: PgBouncer = request.getfixturevalue("pgbouncer")
    return {
        "database_url": bouncer.url(urlparse(database_url).path.lstrip("/")),
        "direct_database_url": database_url,
        "db_statement_cache_size": 0,
    }


@pytest.fixture
def settings(db_settings: dict) -> Settings:
    # Every in-process request comes from one client address: no registration throttle
    # in the way of tests that register many accounts (test_accounts_abuse.py sets its own).
    # A pool larger than the default of 4: the race tests (hundreds of requests gathered at
    # once) mean to have many transactions in flight together, not queued for a connection.
    return Settings(**db_settings, worker_concurrency=10, register_per_address=1000, db_pool_max=20)


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
    await recorder.assert_no_secrets(settings.require_direct_database_url())


CLONE_POOLS: list[ClonePool] = []  # (for the summary below)


def pytest_terminal_summary(terminalreporter) -> None:
    waits = sorted(w for pool in CLONE_POOLS for w in pool.waits)
    if waits:
        terminalreporter.write_line(
            f"test databases cloned from the template: {len(waits)} (made ahead of their tests); waited for "
            f"median {waits[len(waits) // 2] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms"
        )


# Tests that need a Debian package (chromium, pgbouncer, plpgsql_check, promtool) skip
# with the apt-get line where it cannot be had (a laptop, the embedded mode). CI installs
# them (.ci/run) and sets CI=true: there such a skip is a failure, never a silent pass.
SYSTEM_PACKAGE_SKIP = "apt-get install"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if os.environ.get("CI") == "true" and report.skipped and SYSTEM_PACKAGE_SKIP in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"CI must run this test, but it skipped: {report.longrepr}"
    return report
