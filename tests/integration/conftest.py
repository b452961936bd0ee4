"""Fixtures of the integration tests beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from core.database.pool import create_pool
from core.llm.stub import StubServer
from core.settings import Settings


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """The offline OpenAI-compatible stub on a free local port, driven over HTTP."""
    with StubServer() as server:
        yield server


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool as the API's and the worker's: the app role, Row-Level Security on."""
    pool = await create_pool(settings)
    try:
        yield pool
    finally:
        await pool.close()
