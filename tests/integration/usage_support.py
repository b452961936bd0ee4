"""Helpers of the usage tests: usage recorded the way the completion function records it,
and a Procrastinate connector on the test database (optionally as a database role)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import asyncpg
from procrastinate import App, PsycopgConnector
from procrastinate.periodic import PeriodicRegistry

from jobs.app import app as jobs_app

# The usage event and the daily aggregate in one statement, as mukti_complete_request_v2
# writes them (the aggregate's day is the event's UTC day).
_RECORD = """
WITH event AS (
    INSERT INTO usage_events (user_id, occurred_at, event_type, model, technique_id, prompt_tokens,
                              completion_tokens, cost, latency_ms)
    VALUES ($1::uuid, $2, 'question', $3, $4::uuid, $5, $6, $7, $8)
    RETURNING user_id, occurred_at, model, technique_id, prompt_tokens, completion_tokens, cost, latency_ms
)
INSERT INTO daily_usage_aggregates AS a (user_id, day, model, technique_id, questions, prompt_tokens,
                                         completion_tokens, cost, total_latency_ms)
SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date, model, technique_id, 1, prompt_tokens,
       completion_tokens, cost, latency_ms FROM event
ON CONFLICT ON CONSTRAINT daily_usage_aggregates_key DO UPDATE
   SET questions = a.questions + 1,
       prompt_tokens = a.prompt_tokens + excluded.prompt_tokens,
       completion_tokens = a.completion_tokens + excluded.completion_tokens,
       cost = a.cost + excluded.cost,
       total_latency_ms = a.total_latency_ms + excluded.total_latency_ms
"""


async def record_usage(
    db: asyncpg.Connection,
    user_id: str,
    at: datetime,
    *,
    model: str = "socrates-small",
    technique_id: str | None = None,
    prompt_tokens: int = 100,
    completion_tokens: int = 40,
    cost: str = "0.001200",
    latency_ms: int = 250,
) -> None:
    await db.execute(
        _RECORD, user_id, at, model, technique_id, prompt_tokens, completion_tokens, Decimal(cost), latency_ms
    )


def as_role(database_url: str, role: str) -> str:
    """The URL of a session that starts as `role` (the test server's user is a superuser)."""
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options={quote(f'-c role={role}')}"


@contextlib.asynccontextmanager
async def open_connector(database_url: str) -> AsyncIterator[PsycopgConnector]:
    connector = PsycopgConnector(conninfo=database_url, min_size=1, max_size=2)
    await connector.open_async()
    try:
        yield connector
    finally:
        await connector.close_async()


@contextlib.asynccontextmanager
async def worker_app(database_url: str) -> AsyncIterator[App]:
    """The jobs app bound to `database_url` for a test that defers the jobs itself: the
    periodic deferrer gets an empty registry. Both are restored on exit."""
    jobs_app.perform_import_paths()  # every task module registers before the swap
    registry = jobs_app.periodic_registry
    jobs_app.periodic_registry = PeriodicRegistry()
    try:
        with jobs_app.replace_connector(PsycopgConnector(conninfo=database_url, min_size=1, max_size=4)):
            async with jobs_app.open_async():
                yield jobs_app
    finally:
        jobs_app.periodic_registry = registry
