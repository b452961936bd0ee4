"""A real streaming standby (pg_basebackup of a throwaway primary) serving the lag-tolerant
reads: search and older history pages come from it, a write is read back at once from the
primary, a standby further behind than MUKTI_REPLICA_MAX_LAG or stopped leaves the reads
to the primary. Replay is paused on the standby to make it lag on demand."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest

from cli import migrate
from core.settings import Settings
from tests.factories import create_user
from tests.integration.answering_helpers import submit_sql, wait_until
from tests.integration.conversations_support import create_conversation, create_plan
from tests.live_app import live_client
from tests.servers import Cluster, postgres_bin

WORD = "zyzzyva"  # in the one message written while the standby is paused


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    if postgres_bin() is None:
        pytest.skip(
            "no Postgres server binaries (initdb, pg_ctl, pg_basebackup): not in MUKTI_TEST_PG_BIN, /usr/lib/postgresql/*/bin or pgserver"
        )
    primary = Cluster.init()
    standby = None
    try:
        primary.connect().execute("CREATE DATABASE mukti")
        migrate(primary.url("mukti"))
        standby = primary.standby()
        yield primary, standby
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


@asynccontextmanager
async def app(
    clusters: tuple[Cluster, Cluster], max_lag: float, check_interval: float = 0.05
) -> AsyncIterator[httpx.AsyncClient]:
    primary, standby = clusters
    settings = Settings(
        database_url=primary.url("mukti"),
        replica_url=standby.url("mukti"),
        replica_max_lag=max_lag,
        replica_check_interval=check_interval,
        db_pool_min=1,
        db_pool_max=4,
        burst_limit=0,
    )
    async with live_client(settings) as client:
        yield client


async def metric(client: httpx.AsyncClient, name: str) -> float:
    text = (await client.get("/metrics")).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


REPLICA_READS = 'mukti_lag_tolerant_reads_total{server="replica"}'
PRIMARY_READS = 'mukti_lag_tolerant_reads_total{server="primary"}'


async def in_use(client: httpx.AsyncClient, expected: float) -> None:
    async def reached() -> bool:
        return await metric(client, "mukti_replica_in_use") == expected

    await wait_until(reached, 30, f"mukti_replica_in_use {expected}")


async def search(client: httpx.AsyncClient, user, q: str) -> list[dict]:
    response = await client.get("/search", params={"q": q}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.fixture(scope="module")
async def arranged(clusters: tuple[Cluster, Cluster]) -> dict:
    """A user with a conversation of 30 questions, replayed on the standby."""
    primary, standby = clusters
    settings = Settings(database_url=primary.url("mukti"))
    db = await asyncpg.connect(primary.url("mukti"))
    try:
        await create_plan(db, "roomy", per_hour=1000, per_day=1000, priority=5)
        user = await create_user(db, settings, plan="roomy")
        conversation = await create_conversation(db, user.id)
        for i in range(1, 31):
            await submit_sql(db, user.id, conversation, f"Question number {i}: what is virtue?")
    finally:
        await db.close()
    return {"user": user, "conversation": conversation}


async def test_search_and_older_history_come_from_the_standby_and_writes_read_back_from_the_primary(clusters, arranged):
    primary, standby = clusters
    user, conversation = arranged["user"], arranged["conversation"]
    async with app(clusters, max_lag=60) as client:
        await in_use(client, 1)

        async def caught_up() -> bool:
            return await metric(client, "mukti_replica_lag_seconds") == 0

        await wait_until(caught_up, 30, "the standby to catch up (lag 0 in /metrics)")
        with standby.connect("mukti") as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
        try:
            asked = await client.post(
                f"/conversations/{conversation}/messages", json={"content": f"Is a {WORD} wise?"}, headers=user.headers
            )
            assert asked.status_code == 202, asked.text
            replica_reads = await metric(client, REPLICA_READS)

            # Reads of one's own write: the newest history page, from the primary.
            newest = await client.get(f"/conversations/{conversation}/messages?limit=10", headers=user.headers)
            assert [m["seq"] for m in newest.json()["items"]] == list(range(22, 32))
            assert WORD in newest.json()["items"][-1]["content"]
            created = await client.post("/conversations", json={"title": "Fresh"}, headers=user.headers)
            fresh = await client.get(f"/conversations/{created.json()['id']}", headers=user.headers)
            assert fresh.status_code == 200

            # Lag-tolerant reads, from the paused standby: it has not seen the new message.
            assert await search(client, user, WORD) == []
            assert len(await search(client, user, "virtue")) == 20
            older = await client.get(
                f"/conversations/{conversation}/messages",
                params={"cursor": newest.json()["next_cursor"], "limit": 10},
                headers=user.headers,
            )
            assert [m["seq"] for m in older.json()["items"]] == list(range(12, 22))
            assert await metric(client, REPLICA_READS) == replica_reads + 3
        finally:
            with standby.connect("mukti") as replica:
                replica.execute("SELECT pg_wal_replay_resume()")
        # Replayed: the standby finds it too.
        await wait_until(lambda: _found(client, user), 30, "the standby to replay the new message")


async def _found(client: httpx.AsyncClient, user) -> bool:
    return len(await search(client, user, WORD)) == 1


async def test_a_standby_further_behind_than_the_max_lag_leaves_reads_to_the_primary(clusters, arranged):
    primary, standby = clusters
    user, conversation = arranged["user"], arranged["conversation"]
    async with app(clusters, max_lag=0.5) as client:
        await in_use(client, 1)
        with standby.connect("mukti") as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
        try:
            db = await asyncpg.connect(primary.url("mukti"))
            try:
                await submit_sql(db, user.id, conversation, "Can a sophist be a philosopher?")
            finally:
                await db.close()
            await in_use(client, 0)  # the primary has moved on, the standby's last replay ages past 0.5 s
            assert await metric(client, "mukti_replica_lag_seconds") > 0.5
            primary_reads = await metric(client, PRIMARY_READS)
            assert len(await search(client, user, "sophist")) == 1  # the primary has it
            assert await metric(client, PRIMARY_READS) == primary_reads + 1
        finally:
            with standby.connect("mukti") as replica:
                replica.execute("SELECT pg_wal_replay_resume()")
        await in_use(client, 1)
        assert len(await search(client, user, "sophist")) == 1  # now from the standby


async def test_a_stopped_standby_leaves_reads_to_the_primary(clusters, arranged):
    """Runs last in this module: the standby does not come back."""
    primary, standby = clusters
    user = arranged["user"]
    # Checked once, at start: the first read after the stop meets the stopped standby itself.
    async with app(clusters, max_lag=60, check_interval=3600) as client:
        await in_use(client, 1)
        standby.stop()
        primary_reads = await metric(client, PRIMARY_READS)
        hits = await search(client, user, "virtue")  # fails on the standby, retried on the primary
        assert len(hits) == 20
        assert await metric(client, PRIMARY_READS) == primary_reads + 1
        assert await metric(client, "mukti_replica_in_use") == 0
        assert (await client.get("/metrics")).text.count("mukti_replica_lag_seconds NaN") == 1
        assert len(await search(client, user, "virtue")) == 20
    # An API started while the standby is down starts, and reads from the primary.
    async with app(clusters, max_lag=60) as client:
        assert await metric(client, "mukti_replica_in_use") == 0
        assert len(await search(client, user, "virtue")) == 20
