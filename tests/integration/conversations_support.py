"""Helpers shared by the conversations tests: arranging conversations and checking that
nothing but the expected rows was written."""

from __future__ import annotations

import asyncpg

# Questions that are not whole: each count must be 0. A pending request keeps its job
# (workers delete the jobs they finish), every question job has its request, every
# request its message, every user message its request; the pending counts (positions)
# agree with the pending requests, per priority.
CONSISTENCY_VIOLATIONS = """
SELECT
    (SELECT count(*) FROM request_queue r
      WHERE NOT EXISTS (SELECT 1 FROM recent_messages m
                         WHERE m.conversation_id = r.conversation_id AND m.seq = r.message_seq)
        AND NOT EXISTS (SELECT 1 FROM archived_messages a
                         WHERE a.conversation_id = r.conversation_id AND a.seq = r.message_seq))
        AS requests_without_message,
    (SELECT count(*) FROM request_queue r
      WHERE r.status = 'pending' AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.id = r.job_id))
        AS pending_requests_without_job,
    (SELECT count(*) FROM procrastinate_jobs j
      WHERE j.task_name = 'answer_question'
        AND NOT EXISTS (SELECT 1 FROM request_queue r WHERE r.id = (j.args ->> 'request_id')::uuid))
        AS jobs_without_request,
    (SELECT count(*) FROM recent_messages m
      WHERE m.role = 'user' AND NOT EXISTS (SELECT 1 FROM request_queue r WHERE r.id = m.request_id))
        AS user_messages_without_request,
    (SELECT count(*) FROM (
        SELECT d.priority FROM (SELECT c.priority, c.pending AS n FROM request_queue_pending_counts c
                                UNION ALL
                                SELECT r.priority, -1 FROM request_queue r WHERE r.status = 'pending') AS d
         GROUP BY d.priority HAVING sum(d.n) <> 0) AS off) AS pending_counts_off"""


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
    """Rows a question writes, all users together (messages: the recent ones and those the
    51st and later moved to the archive)."""
    row = await db.fetchrow("""
        SELECT (SELECT count(*) FROM rate_limits WHERE action = 'question') AS hits,
               (SELECT count(*) FROM recent_messages) + (SELECT count(*) FROM archived_messages) AS messages,
               (SELECT count(*) FROM request_queue) AS requests,
               (SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'answer_question') AS jobs,
               (SELECT coalesce(sum(questions_this_hour), 0) FROM subscriptions) AS this_hour,
               (SELECT coalesce(sum(questions_today), 0) FROM subscriptions) AS today,
               (SELECT coalesce(sum(message_count), 0) FROM conversations) AS message_count""")
    return dict(row)


async def assert_consistent(db: asyncpg.Connection) -> None:
    violations = dict(await db.fetchrow(CONSISTENCY_VIOLATIONS))
    assert violations == dict.fromkeys(violations, 0), violations
