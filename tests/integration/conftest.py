"""Fixtures of the integration tests beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.llm.stub import StubServer


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """The offline OpenAI-compatible stub on a free local port, driven over HTTP."""
    with StubServer() as server:
        yield server
