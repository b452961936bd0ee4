"""`mukti api` as real processes for the multi-process tests; their log is kept in memory."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApiProcess:
    def __init__(self, proc: asyncio.subprocess.Process, url: str) -> None:
        self.proc, self.url = proc, url
        self.log: list[str] = []

    async def started(self) -> None:
        """Reads the log until uvicorn reports the lifespan done (the pool is open)."""
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode())
            if b"Uvicorn running on" in line:  # it binds after the lifespan started
                self.drain = asyncio.create_task(self._drain())
                return
        raise AssertionError("the API process exited:\n" + "".join(self.log))

    async def _drain(self) -> None:
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode())


@asynccontextmanager
async def api_processes(database_url: str, count: int, **env: str) -> AsyncIterator[list[ApiProcess]]:
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MUKTI_BURST_LIMIT": "100000",
        "MUKTI_DB_POOL_MIN": "1",
        "MUKTI_DB_POOL_MAX": "8",
        **env,
    }
    processes = []
    for _ in range(count):
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "api", "--port", str(port), env=full_env, stderr=asyncio.subprocess.PIPE
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
