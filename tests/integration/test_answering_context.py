"""What the worker gives the LLM, and what it does when it cannot finish an attempt."""

from __future__ import annotations

import datetime as dt
import json

from procrastinate.jobs import Job

from core.database.gateway import Db
from jobs.backoff import RetryLater, ScheduledRetry
from tests.factories import create_user
from tests.integration.answering_helpers import complete_sql, submit_sql
from tests.integration.conversations_support import create_conversation


async def test_a_question_already_archived_behind_a_backlog_still_reaches_the_llm(db, settings):
    user = await create_user(db, settings, plan="paid")
    conversation_id = await create_conversation(db, user.id)
    requests = [await submit_sql(db, user.id, conversation_id, f"question number {n}") for n in range(1, 56)]
    # 55 questions, none answered: the first five moved to the archive.
    assert (
        await db.fetchval("SELECT count(*) FROM archived_messages WHERE conversation_id = $1::uuid", conversation_id)
        == 5
    )

    row = await Db.on(db).fetchrow("answering_start_attempt", request_id=requests[0], user_id=user.id)
    messages = json.loads(row["messages"])
    assert messages == [{"role": "user", "content": "question number 1"}]

    row = await Db.on(db).fetchrow("answering_start_attempt", request_id=requests[10], user_id=user.id)
    assert json.loads(row["messages"])[-1] == {"role": "user", "content": "question number 11"}


async def test_the_start_of_an_attempt_commits_without_waiting_for_the_wal_flush(db, settings):
    # Its NOTIFY holds Postgres's notify lock until the commit ends (db/sql/queries/answering.sql).
    user = await create_user(db, settings)
    request_id = await submit_sql(db, user.id, await create_conversation(db, user.id), "why?")
    await db.execute("SET synchronous_commit = on")  # whatever the server's default
    async with db.transaction():
        assert await Db.on(db).fetchrow("answering_start_attempt", request_id=request_id, user_id=user.id)
        assert await db.fetchval("SHOW synchronous_commit") == "off"
    # Only that transaction's commit: the session's setting is back.
    assert await db.fetchval("SHOW synchronous_commit") == "on"


async def test_a_request_interrupted_past_its_attempts_fails_instead_of_looping(db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = await submit_sql(db, user.id, conversation_id, "why?", max_attempts=2)
    # Two runs taken and cut off (a crashing worker) without recording a failure.
    for _ in range(3):
        row = await Db.on(db).fetchrow("answering_start_attempt", request_id=request_id, user_id=user.id)
    assert row["attempts"] == 3 > row["max_attempts"]
    failed = await Db.on(db).fetchrow(
        "answering_fail_attempt", request_id=request_id, error="interrupted", retry_in_seconds=0
    )
    assert failed["outcome"] == "failed"
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "failed"


def _job(attempts: int) -> Job:
    return Job(
        id=1,
        queue="questions",
        lock=None,
        queueing_lock=None,
        task_name="answer_question",
        attempts=attempts,
        task_kwargs={},
    )


def test_errors_before_the_outcome_is_recorded_are_retried_with_backoff():
    strategy = ScheduledRetry(infrastructure_attempts=3)
    before = dt.datetime.now(dt.UTC)
    decision = strategy.get_retry_decision(exception=ConnectionError("database down"), job=_job(0))
    assert decision is not None and decision.retry_at is not None
    assert before + dt.timedelta(seconds=0.9) < decision.retry_at < before + dt.timedelta(seconds=2)
    assert strategy.get_retry_decision(exception=ConnectionError("still down"), job=_job(2)) is None
    at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert strategy.get_retry_decision(exception=RetryLater(at), job=_job(10)).retry_at == at


async def test_reaching_the_daily_limit_notifies_with_the_next_slot_and_an_upgrade(db, settings):
    await db.execute(
        "INSERT INTO plans (id, name, per_hour, per_day, priority, model) "
        "VALUES ('tiny', 'Tiny', 2, 2, 0, 'gpt-4o-mini')"
    )
    user = await create_user(db, settings, plan="tiny")
    conversation_id = await create_conversation(db, user.id)
    for n in range(2):
        request_id = await submit_sql(db, user.id, conversation_id, f"question {n}")
        await Db.on(db).fetchrow("answering_start_attempt", request_id=request_id, user_id=user.id)
        done = await complete_sql(db, request_id, "Why?", 10, 5, 20)
    assert done["limit_reached"] == "daily_limit_reached"
    body, blocked = await db.fetchrow(
        "SELECT n.body, s.blocked_until FROM notifications n JOIN subscriptions s USING (user_id) "
        "WHERE n.user_id = $1::uuid AND n.kind = 'daily_limit_reached'",
        user.id,
    )
    first_hit = await db.fetchval("SELECT min(hit_at) FROM rate_limits WHERE subject = $1", user.id)
    assert blocked == first_hit + dt.timedelta(days=1)
    assert "all 2 questions your plan allows in 24 hours" in body
    assert "Upgrade to Free for up to 50 questions a day." in body
