"""The app in-process, serving requests truly concurrently.

Litestar's AsyncTestClient pushes every request through a blocking portal in another
thread, so `asyncio.gather` over it runs the requests one after another. httpx's
ASGITransport awaits the app on the caller's event loop instead: gathered requests
interleave at every await, as they would under uvicorn. Use this for concurrency claims.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from api.app import create_app
from api.settings import Settings


@asynccontextmanager
async def live_client(settings: Settings, client_address: str = "192.0.2.10") -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=(client_address, 50000))
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
