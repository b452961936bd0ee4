"""The app in-process, serving requests truly concurrently.

Litestar's AsyncTestClient pushes every request through a blocking portal in another
thread, so `asyncio.gather` over it runs the requests one after another. httpx's
ASGITransport awaits the app on the caller's event loop instead: gathered requests
interleave at every await, as they would under uvicorn. Use this for concurrency claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from api.app import create_app
from core.settings import Settings


@asynccontextmanager
async def live_client(settings: Settings, client_address: str = "192.0.2.10") -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    # The lifespan runs in a task of its own: its cancel scope must be entered and exited
    # by the same task, and a pytest fixture's setup and teardown run in different tasks.
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    lifespan = asyncio.create_task(run_lifespan())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({lifespan, ready}, return_when=asyncio.FIRST_COMPLETED)
    if not started.is_set():
        ready.cancel()
        await lifespan  # raises the startup error
    # httpx types the ASGI callable more narrowly than Litestar declares it; the protocol is the same.
    transport = httpx.ASGITransport(app=app, client=(client_address, 50000))  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        stop.set()
        await lifespan
