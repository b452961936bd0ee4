"""A database restart under load: the API answers 503 meanwhile and recovers, and the
worker, never restarted by hand, answers every accepted question exactly once.

The database is a throwaway cluster of this test's own (never the shared server)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections import Counter

import asyncpg
import httpx
import pytest

from cli import migrate
from core.settings import Settings
from tests.factories import create_user
from tests.integration.answering_helpers import stub_control, wait_until, worker_process
from tests.integration.conversations_support import create_conversation, create_plan
from tests.integration.processes_support import api_processes
from tests.throwaway_pg import ThrowawayPostgres

OUTAGE_SECONDS = 10
LEARNERS = 8


@pytest.fixture
def cluster():
    pytest.importorskip("pgserver", reason="the outage test runs its own Postgres with pgserver")
    pg = ThrowawayPostgres()
    try:
        yield pg
    finally:
        pg.close()


class Load:
    """Questions, one at a time per learner, until stopped; every answer is classified."""

    def __init__(self, url: str, learners: list[tuple[dict[str, str], str]]) -> None:
        self.url, self.learners = url, learners
        self.accepted: list[str] = []
        self.unavailable: list[httpx.Response] = []
        self.other: list[str] = []
        self.accepted_after: dict[str, float] = {}
        self._stop = asyncio.Event()

    async def _learner(self, http: httpx.AsyncClient, headers: dict[str, str], conversation_id: str) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            try:
                response = await http.post(
                    f"{self.url}/conversations/{conversation_id}/messages",
                    json={"content": f"question {i}: is a question an answer?"},
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                self.other.append(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code == 202:
                request_id = response.json()["request_id"]
                self.accepted.append(request_id)
                self.accepted_after[request_id] = time.monotonic()
            elif response.status_code == 503:
                self.unavailable.append(response)
                await asyncio.sleep(0.05)  # a client backing off, as Retry-After asks
            else:
                self.other.append(f"{response.status_code} {response.text}")

    @contextlib.asynccontextmanager
    async def running(self):
        async with httpx.AsyncClient(timeout=30) as http:
            tasks = [
                asyncio.create_task(self._learner(http, headers, conversation))
                for headers, conversation in self.learners
            ]
            try:
                yield self
            finally:
                self._stop.set()
                await asyncio.gather(*tasks)


def _first_traceback(log: list[str]) -> str:
    text = "".join(log)
    start = text.find("Traceback")
    return text[max(0, start - 300) : start + 6000] if start >= 0 else text[-3000:]


async def _completed(database_url: str, request_ids: list[str]) -> dict:
    conn = await asyncpg.connect(database_url)
    try:
        return dict(
            await conn.fetchrow(
                """
            SELECT count(*) FILTER (WHERE q.status = 'completed') AS completed,
                   count(*) FILTER (WHERE replies.n = 1) AS one_reply,
                   count(*) FILTER (WHERE replies.n > 1) AS more_replies
              FROM request_queue q
              CROSS JOIN LATERAL (SELECT count(*) AS n FROM recent_messages m
                                   WHERE m.request_id = q.id AND m.role = 'assistant') AS replies
             WHERE q.id = ANY($1::uuid[])""",
                request_ids,
            )
        )
    finally:
        await conn.close()


async def test_a_database_restart_under_load(cluster, stub, tmp_path):
    database_url = cluster.create_database("mukti")
    await asyncio.to_thread(migrate, database_url)
    settings = Settings(database_url=database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await create_plan(conn, "bulk", per_hour=100_000, per_day=100_000, priority=5)
        learners = []
        for _ in range(LEARNERS):
            user = await create_user(conn, settings, plan="bulk")
            learners.append((user.headers, await create_conversation(conn, user.id)))
    finally:
        await conn.close()
    # Slow enough answers that some are in flight when the database goes.
    stub_control(stub, latency_ms=300, latency_jitter_ms=200)

    worker_log = tmp_path / "worker.log"
    with worker_process(database_url, stub.base_url, worker_log, MUKTI_WORKER_GIVE_UP_AFTER="120") as worker:
        async with api_processes(database_url, 1) as (api,):
            load = Load(api.url, learners)
            async with load.running():
                await wait_until(lambda: _async(len(load.accepted) >= 40), 30, "40 accepted questions")

                await asyncio.to_thread(cluster.stop)
                down_since = time.monotonic()
                accepted_before = len(load.accepted)
                # The outage itself is the scenario: the database stays down this long.
                await asyncio.sleep(OUTAGE_SECONDS)
                assert worker.poll() is None, worker_log.read_text()
                unavailable = len(load.unavailable)
                await asyncio.to_thread(cluster.start)
                up_again = time.monotonic()

                await wait_until(
                    lambda: _async(len(load.accepted) >= accepted_before + 40),
                    60,
                    "40 more accepted questions after the restart",
                )

            assert time.monotonic() - down_since >= OUTAGE_SECONDS
            assert unavailable >= 10, "the API kept answering something else than 503 while the database was down"
            (tmp_path / "api.log").write_text("".join(api.log))
            assert load.other == [], (load.other[:5], _first_traceback(api.log))
            for response in load.unavailable:
                assert response.json()["code"] == "database_unavailable", response.text
                assert int(response.headers["Retry-After"]) >= 1
            assert any(t > up_again for t in load.accepted_after.values())

            async def all_answered():
                counts = await _completed(database_url, load.accepted)
                return counts if counts["completed"] == len(load.accepted) else None

            counts = await wait_until(all_answered, 90, "every accepted question to be answered", interval=0.5)
            assert counts == {"completed": len(load.accepted), "one_reply": len(load.accepted), "more_replies": 0}
            assert worker.poll() is None, "the worker stopped"
            # One log line per failed request is spam at this rate: the 503s leave no traceback.
            api_log = "".join(api.log)
            assert "Traceback" not in api_log, _first_traceback(api.log)
    assert Counter(r.status_code for r in load.unavailable) == {503: len(load.unavailable)}


async def _async(value):
    return value


async def test_the_worker_gives_up_after_the_configured_time_with_a_failure_code(cluster, stub, tmp_path):
    database_url = cluster.create_database("mukti")
    await asyncio.to_thread(migrate, database_url)
    worker_log = tmp_path / "worker.log"
    with worker_process(database_url, stub.base_url, worker_log, MUKTI_WORKER_GIVE_UP_AFTER="3") as worker:

        async def started():
            return "Starting worker" in worker_log.read_text() or "worker starting" in worker_log.read_text()

        await wait_until(started, 30, "the worker to start")
        conn = await asyncpg.connect(database_url)
        try:

            async def registered():
                return await conn.fetchval("SELECT count(*) FROM procrastinate_workers") == 1

            await wait_until(registered, 30, "the worker to register")
        finally:
            await conn.close()
        await asyncio.to_thread(cluster.stop)
        stopped = time.monotonic()
        try:
            code = await asyncio.to_thread(worker.wait, 60)
        except subprocess.TimeoutExpired:
            raise AssertionError("the worker did not exit:\n" + worker_log.read_text()[-5000:]) from None
        exited_after = time.monotonic() - stopped
    log = worker_log.read_text()
    assert code == 75, log
    gave_up = re.search(r"database unreachable for (\d+) s \(MUKTI_WORKER_GIVE_UP_AFTER=3\): giving up", log)
    # At the deadline (rounded; a last try may wait for a connection): it was up to 5 s late.
    assert gave_up is not None and int(gave_up.group(1)) <= 4, log[-5000:]
    # The give-up, then a shutdown that waits for no connection: the jobs running when
    # the database went (periodic maintenance) end within their own acquire timeout (5 s,
    # counted from the stop), and recording their outcome fails at once. Each of those
    # waited 5 s more for a connection that could not come, and closing the pool 5 s more.
    assert exited_after < 3 + 6, (exited_after, log[-5000:])
    assert "Task exception was never retrieved" not in log, log[-5000:]
