"""Helpers of the answering tests: the stub LLM, a real worker (in-process or a
process of its own), asking questions over HTTP, waiting for the queue to drain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx

from core.llm.stub import StubServer
from core.settings import Settings
from jobs.worker import run_worker
from tests.integration.accounts_support import bearer, register


def stub_control(stub: StubServer, **knobs) -> None:
    httpx.post(stub.root_url + "/_control", json=knobs).raise_for_status()


def stub_stats(stub: StubServer) -> dict:
    return httpx.get(stub.root_url + "/_stats").json()


@contextlib.asynccontextmanager
async def inprocess_worker(settings: Settings) -> AsyncIterator[None]:
    """A real Procrastinate worker in this event loop, stopped (gracefully) on exit."""
    task = asyncio.create_task(run_worker(settings, install_signal_handlers=False))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def worker_process(database_url: str, llm_base_url: str, log: Path, **env: str) -> Iterator[subprocess.Popen]:
    """`mukti worker` as a process of its own; its log goes to a file (a pipe could fill up)."""
    full_env = {**os.environ, "DATABASE_URL": database_url, "LLM_BASE_URL": llm_base_url, **env}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"], env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll a condition another process brings about (no event to await across processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


async def new_learner(client, db: asyncpg.Connection, plan: str = "free") -> dict[str, str]:
    """Register over HTTP (on `plan`, set by SQL as billing would) and start a conversation."""
    registered = await register(client)
    headers = bearer(registered["access_token"])
    user_id = registered["user"]["id"]
    await db.execute("UPDATE subscriptions SET plan_id = $2 WHERE user_id = $1::uuid", user_id, plan)
    response = await client.post("/conversations", json={"title": "On justice"}, headers=headers)
    assert response.status_code == 201, response.text
    return {"user_id": user_id, "conversation_id": response.json()["id"], **headers}


async def ask(client, learner: dict[str, str], content: str) -> dict:
    headers = {"Authorization": learner["Authorization"]}
    response = await client.post(
        f"/conversations/{learner['conversation_id']}/messages", json={"content": content}, headers=headers
    )
    assert response.status_code == 202, response.text
    return response.json()


async def wait_answered(client, learner: dict[str, str], request_id: str, timeout: float = 20) -> dict:
    """Poll GET /queue/{id} until the request is completed or failed."""
    headers = {"Authorization": learner["Authorization"]}

    async def finished():
        body = (await client.get(f"/queue/{request_id}", headers=headers)).json()
        return body if body["status"] in ("completed", "failed") else None

    return await wait_until(finished, timeout, f"request {request_id}", interval=0.02)


async def submit_sql(
    db: asyncpg.Connection, user_id: str, conversation_id: str, content: str, max_attempts: int = 3
) -> str:
    """Ask through mukti_submit_question_v2 directly (for load: no HTTP on the way); burst check off."""
    row = await db.fetchrow(
        "SELECT * FROM mukti_submit_question_v2($1::uuid, $2::uuid, $3, 0, 0, $4)",
        user_id,
        conversation_id,
        content,
        max_attempts,
    )
    assert row["outcome"] == "accepted", dict(row)
    return str(row["request_id"])


async def complete_sql(
    db: asyncpg.Connection, request_id: str, content: str, prompt_tokens: int, completion_tokens: int, latency_ms: int
) -> asyncpg.Record:
    """Complete a taken attempt through mukti_complete_request_v4 directly (the worker's
    streamed completion, mukti_complete_stream_v4, wraps it)."""
    row = await db.fetchrow(
        "SELECT outcome, reply_seq, cost, limit_reached FROM mukti_complete_request_v4($1, $2, $3, $4, $5)",
        request_id,
        content,
        prompt_tokens,
        completion_tokens,
        latency_ms,
    )
    assert row is not None
    return row
