"""`mukti api` as a real process on a free port, for tests of what only processes show."""

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


@asynccontextmanager
async def api_process(database_url: str, **env: str) -> AsyncIterator[str]:
    """Starts `python -m cli api`, yields its base URL once the lifespan is done, stops it with SIGTERM."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "api", "--port", str(port),
        env={**os.environ, "DATABASE_URL": database_url, **env}, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    log: list[str] = []

    async def started() -> None:
        while line := await proc.stderr.readline():
            log.append(line.decode())
            if b"Application startup complete" in line:
                return
        raise AssertionError("the API process exited:\n" + "".join(log))

    async def drain() -> None:  # a full pipe would block the process
        while line := await proc.stderr.readline():
            log.append(line.decode())

    try:
        await asyncio.wait_for(started(), 60)
        draining = asyncio.create_task(drain())
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()
    await draining
