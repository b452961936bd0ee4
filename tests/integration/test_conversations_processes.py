"""Asking through real API processes: limits hold across processes, and a killed process
leaves every accepted question whole."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from tests.factories import create_user
from tests.integration.conversations_support import (
    assert_consistent,
    create_conversation,
    create_plan,
    written,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApiProcess:
    def __init__(self, proc: asyncio.subprocess.Process, url: str) -> None:
        self.proc, self.url = proc, url
        self.log: list[str] = []

    async def started(self) -> None:
        """Reads the log until uvicorn listens (it binds after the lifespan started: the pool is open)."""
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode())
            if b"Uvicorn running on" in line:
                self.drain = asyncio.create_task(self._drain())
                return
        raise AssertionError("the API process exited:\n" + "".join(self.log))

    async def _drain(self) -> None:
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode())


@asynccontextmanager
async def api_processes(database_url: str, count: int, **extra_env: str) -> AsyncIterator[list[ApiProcess]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MUKTI_BURST_LIMIT": "100000",
        "MUKTI_DB_POOL_MIN": "1",
        "MUKTI_DB_POOL_MAX": "8",
        **extra_env,
    }
    processes = []
    for _ in range(count):
        port = _free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "api", "--port", str(port), env=env, stderr=asyncio.subprocess.PIPE
        )
        processes.append(ApiProcess(proc, f"http://127.0.0.1:{port}"))
    try:
        await asyncio.wait_for(asyncio.gather(*(p.started() for p in processes)), 60)
        yield processes
    finally:
        for p in processes:
            if p.proc.returncode is None:
                p.proc.send_signal(signal.SIGTERM)
        for p in processes:
            await p.proc.wait()


async def fire(
    urls: list[str], user, conversation_id: str, n: int, on_response: Callable[[httpx.Response], None] = lambda _: None
) -> list[httpx.Response | BaseException]:
    """n questions at once, spread over the processes."""
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def one(i: int) -> httpx.Response:
            response = await http.post(
                f"{urls[i % len(urls)]}/conversations/{conversation_id}/messages",
                json={"content": f"question {i}"},
                headers=user.headers,
            )
            on_response(response)
            return response

        return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)


async def test_four_api_processes_accept_exactly_the_hourly_limit(database_url, db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)

    async with api_processes(database_url, 4) as processes:
        responses = await fire([p.url for p in processes], user, conversation_id, 200)

    assert Counter(r.status_code for r in responses) == {202: 10, 429: 190}
    counts = await written(db)
    assert (counts["this_hour"], counts["requests"], counts["jobs"], counts["messages"]) == (10, 10, 10, 10)
    await assert_consistent(db)


async def test_killing_an_api_process_mid_burst_leaves_every_accepted_question_whole(database_url, db, settings):
    await create_plan(db, "bulk", per_hour=10_000, per_day=10_000, priority=5)
    user = await create_user(db, settings, plan="bulk")
    conversation_id = await create_conversation(db, user.id)

    async with api_processes(database_url, 1) as (process,):
        accepted: list[str] = []

        def kill_after_some(response: httpx.Response) -> None:
            if response.status_code == 202:
                accepted.append(response.json()["request_id"])
                if len(accepted) == 20:
                    process.proc.send_signal(signal.SIGKILL)

        responses = await fire([process.url], user, conversation_id, 400, kill_after_some)
    assert process.proc.returncode == -signal.SIGKILL
    assert any(isinstance(r, Exception) for r in responses), "the process died after the burst, not in it"

    # The backends of the killed process roll back (or finish committing) once they see it gone.
    await db.execute("""DO $$ BEGIN
        WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                       AND application_name = 'mukti-api') LOOP PERFORM pg_sleep(0.05); END LOOP; END $$""")
    await assert_consistent(db)
    counts = await written(db)
    assert len(accepted) >= 20
    assert counts["requests"] >= len(accepted)
    assert counts["requests"] == counts["jobs"] == counts["messages"] == counts["this_hour"] == counts["hits"]
    assert counts["message_count"] == counts["messages"]
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE id = ANY($1::uuid[])", accepted) == len(accepted)
