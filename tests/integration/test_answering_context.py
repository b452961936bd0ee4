"""What the worker gives the LLM, and what it does when it cannot finish an attempt."""

from __future__ import annotations

import datetime as dt
import json

from procrastinate.jobs import Job

from db.queries import QUERIES
from jobs.backoff import RetryLater, ScheduledRetry
from tests.factories import create_user
from tests.integration.answering_helpers import submit_sql
from tests.integration.conversations_support import create_conversation


async def test_a_question_already_archived_behind_a_backlog_still_reaches_the_llm(db, settings):
    user = await create_user(db, settings, plan="paid")
    conversation_id = await create_conversation(db, user.id)
    requests = [await submit_sql(db, user.id, conversation_id, f"question number {n}") for n in range(1, 56)]
    # 55 questions, none answered: the first five moved to the archive.
    assert await db.fetchval("SELECT count(*) FROM archived_messages WHERE conversation_id = $1::uuid",
                             conversation_id) == 5

    row = await db.fetchrow(QUERIES["answering_start_attempt"], requests[0])
    messages = json.loads(row["messages"])
    assert messages == [{"role": "user", "content": "question number 1"}]

    row = await db.fetchrow(QUERIES["answering_start_attempt"], requests[10])
    assert json.loads(row["messages"])[-1] == {"role": "user", "content": "question number 11"}


async def test_a_request_interrupted_past_its_attempts_fails_instead_of_looping(db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)
    request_id = await submit_sql(db, user.id, conversation_id, "why?", max_attempts=2)
    # Two runs taken and cut off (a crashing worker) without recording a failure.
    for _ in range(3):
        row = await db.fetchrow(QUERIES["answering_start_attempt"], request_id)
    assert row["attempts"] == 3 > row["max_attempts"]
    failed = await db.fetchrow(QUERIES["answering_fail_attempt"], request_id, "interrupted", 0)
    assert failed["outcome"] == "failed"
    assert await db.fetchval("SELECT status FROM request_queue WHERE id = $1::uuid", request_id) == "failed"


def _job(attempts: int) -> Job:
    return Job(id=1, queue="questions", lock=None, queueing_lock=None, task_name="answer_question",
               attempts=attempts, task_kwargs={})


def test_errors_before_the_outcome_is_recorded_are_retried_with_backoff():
    strategy = ScheduledRetry(infrastructure_attempts=3)
    before = dt.datetime.now(dt.timezone.utc)
    decision = strategy.get_retry_decision(exception=ConnectionError("database down"), job=_job(0))
    assert decision is not None
    assert before + dt.timedelta(seconds=0.9) < decision.retry_at < before + dt.timedelta(seconds=2)
    assert strategy.get_retry_decision(exception=ConnectionError("still down"), job=_job(2)) is None
    at = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assert strategy.get_retry_decision(exception=RetryLater(at), job=_job(10)).retry_at == at
