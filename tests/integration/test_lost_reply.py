"""A stored reply whose acknowledgement is lost: the completion commits, then the worker's
connection drops before the answer to it arrives. The attempt's failure path finds the
request completed; the job went with the reply, so Procrastinate's finish finds no row,
which the worker takes as done (jobs/worker.py), and it goes on (a real `mukti worker` process behind a TCP proxy that
drops that one connection)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from urllib.parse import urlparse

import asyncpg

from core.settings import Settings
from tests.factories import create_user
from tests.harness import PgServer
from tests.integration.answering_helpers import submit_sql, wait_until, worker_process

# The completion's Parse (asyncpg prepares it, under a name, before it runs it: the
# prepare is answered with an idle ReadyForQuery too, as is the type introspection it may
# run meanwhile), then its Bind, which runs it.
PARSE = re.compile(rb"P....(__asyncpg_stmt_\w+__)\x00SELECT [^\x00]*mukti_complete_streams_v", re.DOTALL)
BIND = re.compile(rb"B....\x00(__asyncpg_stmt_\w+__)\x00", re.DOTALL)
# ReadyForQuery, idle: the statement's implicit transaction has committed.
READY_IDLE = b"Z\x00\x00\x00\x05I"


class ReplyLosingProxy:
    """A TCP proxy to Postgres that, on the first connection to send a completion, lets
    the completion run and commit, then drops that connection instead of passing the
    answer back."""

    def __init__(self, upstream: PgServer) -> None:
        self.upstream = upstream
        self.dropped = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.upstream.host.startswith("/"):  # the embedded server listens on a socket file
            server_r, server_w = await asyncio.open_unix_connection(
                f"{self.upstream.host}/.s.PGSQL.{self.upstream.port}"
            )
        else:
            server_r, server_w = await asyncio.open_connection(self.upstream.host, self.upstream.port)
        completions: set[bytes] = set()  # this connection's prepared completions
        armed = asyncio.Event()  # this connection ran a completion

        async def upstream() -> None:
            while data := await client_r.read(65536):
                completions.update(PARSE.findall(data))
                if not self.dropped.is_set() and completions.intersection(BIND.findall(data)):
                    armed.set()
                server_w.write(data)
                await server_w.drain()

        async def downstream() -> None:
            while data := await server_r.read(65536):
                if armed.is_set() and not self.dropped.is_set() and READY_IDLE in data:
                    self.dropped.set()
                    return  # the answer is never passed on
                client_w.write(data)
                await client_w.drain()

        pumps = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        self._tasks.update(pumps)
        with contextlib.suppress(ConnectionError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_w, server_w):
            writer.transport.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()


async def test_a_reply_whose_acknowledgement_is_lost_is_stored_once_and_the_worker_goes_on(
    db: asyncpg.Connection, database_url: str, pg_server: PgServer, stub, tmp_path
):
    settings = Settings(database_url=database_url)
    user = await create_user(db, settings, plan="paid")
    conversations = [
        r["id"]
        for r in await db.fetch(
            "INSERT INTO conversations (user_id) SELECT $1::uuid FROM generate_series(1, 2) RETURNING id::text",
            user.id,
        )
    ]
    first = await submit_sql(db, user.id, conversations[0], "Is a promise kept out of fear still kept?")
    proxy = ReplyLosingProxy(pg_server)
    through_proxy = dataclasses.replace(pg_server, host="127.0.0.1", port=await proxy.start())
    proxied_url = through_proxy.url(urlparse(database_url).path.lstrip("/"))
    log = tmp_path / "worker.log"
    try:
        with worker_process(proxied_url, stub.base_url, log, MUKTI_WORKER_POLL_INTERVAL="0.2"):
            await asyncio.wait_for(proxy.dropped.wait(), 30)

            async def first_completed():
                return await db.fetchval("SELECT status = 'completed' FROM request_queue WHERE id = $1", first)

            await wait_until(first_completed, 10, "the first request completed")
            # The worker lives on: a later question is answered by it.
            second = await submit_sql(db, user.id, conversations[1], "What would change your mind?")

            async def second_completed():
                return await db.fetchval("SELECT status = 'completed' FROM request_queue WHERE id = $1", second)

            await wait_until(second_completed, 20, "the second request completed")

            async def failure_logged():
                return "attempt 1/3 failed" in log.read_text(errors="replace")

            # The failure path has run its course (its warning is logged) before the checks below.
            await wait_until(failure_logged, 10, "the lost acknowledgement's failure logged")
    finally:
        await proxy.close()
    text = log.read_text(errors="replace")
    assert "was finished by its own last transaction" in text, text
    assert "Job was not found" not in text, text
    assert "Traceback" not in text, text
    replies = await db.fetchval(
        "SELECT count(*) FROM recent_messages WHERE conversation_id = $1::uuid AND role = 'assistant'", conversations[0]
    )
    assert replies == 1
    row = await db.fetchrow("SELECT status, attempts, error FROM request_queue WHERE id = $1", first)
    assert (row["status"], row["attempts"], row["error"]) == ("completed", 1, None)
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'questions'") == 0
