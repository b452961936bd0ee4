"""Helpers shared by the conversations tests: arranging conversations and checking that
nothing but the expected rows was written."""

from __future__ import annotations

import asyncpg

from db.queries import QUERIES


async def create_conversation(db: asyncpg.Connection, user_id: str, title: str = "Dialogue") -> str:
    return await db.fetchval(
        "INSERT INTO conversations (user_id, title) VALUES ($1::uuid, $2) RETURNING id::text", user_id, title
    )


async def create_plan(db: asyncpg.Connection, plan_id: str, *, per_hour: int, per_day: int, priority: int) -> None:
    await db.execute(
        "INSERT INTO plans (id, name, per_hour, per_day, priority, model) VALUES ($1, $1, $2, $3, $4, 'gpt-4o-mini')",
        plan_id,
        per_hour,
        per_day,
        priority,
    )


async def written(db: asyncpg.Connection) -> dict[str, int]:
    """Rows a question writes, all users together."""
    row = await db.fetchrow("""
        SELECT (SELECT count(*) FROM rate_limits WHERE action = 'question') AS hits,
               (SELECT count(*) FROM recent_messages) AS messages,
               (SELECT count(*) FROM request_queue) AS requests,
               (SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'answer_question') AS jobs,
               (SELECT coalesce(sum(questions_this_hour), 0) FROM subscriptions) AS this_hour,
               (SELECT coalesce(sum(questions_today), 0) FROM subscriptions) AS today,
               (SELECT coalesce(sum(message_count), 0) FROM conversations) AS message_count""")
    return dict(row)


async def assert_consistent(db: asyncpg.Connection) -> None:
    violations = dict(await db.fetchrow(QUERIES["conversations_consistency_violations"]))
    assert violations == dict.fromkeys(violations, 0), violations
