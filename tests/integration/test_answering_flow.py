"""The worker answers questions asked over HTTP: replies, archive, usage, limits, order."""

from __future__ import annotations

import pytest
from procrastinate.manager import JobManager

from core.llm.stub import StubServer
from core.settings import Settings
from tests.integration.answering_helpers import (
    ask,
    inprocess_worker,
    new_learner,
    stub_control,
    stub_stats,
    wait_answered,
    wait_until,
)


@pytest.fixture
def settings(db_settings: dict, stub: StubServer) -> Settings:
    # The burst limit is the asking feature's; here it would only slow the dialogues down.
    return Settings(**db_settings, llm_base_url=stub.base_url, llm_timeout=5, worker_concurrency=10, burst_limit=0)


async def test_question_answered_end_to_end_over_http(client, db, settings):
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        accepted = await ask(client, learner, "I think justice is whatever the law says it is.")
        done = await wait_answered(client, learner, accepted["request_id"])

    assert done["status"] == "completed" and done["attempts"] == 1
    reply = done["reply"]
    assert reply["seq"] == 2 and reply["content"].endswith("?")
    assert reply["prompt_tokens"] > 0 and reply["completion_tokens"] > 0

    history = (
        await client.get(
            f"/conversations/{learner['conversation_id']}/messages", headers={"Authorization": learner["Authorization"]}
        )
    ).json()
    assert [(m["seq"], m["role"]) for m in history["items"]] == [(1, "user"), (2, "assistant")]
    assert history["items"][1]["content"] == reply["content"]

    sub = (await client.get("/me/subscription", headers={"Authorization": learner["Authorization"]})).json()
    assert sub["usage"]["today"] == 1
    assert sub["usage"]["tokens_today"] == reply["prompt_tokens"] + reply["completion_tokens"]
    assert float(sub["usage"]["cost_today"]) > 0

    event = await db.fetchrow("SELECT * FROM usage_events WHERE request_id = $1::uuid", accepted["request_id"])
    assert event["model"] == "gpt-4o-mini" and event["latency_ms"] is not None
    assert (event["prompt_tokens"], event["completion_tokens"]) == (reply["prompt_tokens"], reply["completion_tokens"])
    daily = await db.fetchrow("SELECT * FROM daily_usage_aggregates WHERE user_id = $1::uuid", learner["user_id"])
    assert daily["questions"] == 1 and daily["cost"] == event["cost"] > 0


async def test_sixty_questions_keep_fifty_recent_and_archive_the_rest(client, db, settings):
    learner = await new_learner(client, db, plan="paid")
    conversation = learner["conversation_id"]
    async with inprocess_worker(settings):
        for n in range(1, 61):
            accepted = await ask(client, learner, f"Question number {n}: is courage a kind of knowledge?")
            assert accepted["message_seq"] == 2 * n - 1
            assert (await wait_answered(client, learner, accepted["request_id"]))["reply"]["seq"] == 2 * n

    recent = await db.fetch(
        "SELECT seq, role FROM recent_messages WHERE conversation_id = $1::uuid ORDER BY seq", conversation
    )
    archived = await db.fetch(
        "SELECT seq, role FROM archived_messages WHERE conversation_id = $1::uuid ORDER BY seq", conversation
    )
    assert [r["seq"] for r in recent] == list(range(71, 121))
    assert [r["seq"] for r in archived] == list(range(1, 71))
    assert [r["role"] for r in archived + recent] == ["user", "assistant"] * 60
    counts = await db.fetchrow(
        "SELECT message_count, archived_count FROM conversations WHERE id = $1::uuid", conversation
    )
    assert tuple(counts) == (120, 70)

    seqs, cursor = [], None
    while True:
        page = (
            await client.get(
                f"/conversations/{conversation}/messages",
                params={"limit": 100, **({"cursor": cursor} if cursor else {})},
                headers={"Authorization": learner["Authorization"]},
            )
        ).json()
        seqs += [m["seq"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seqs) == list(range(1, 121)) and len(set(seqs)) == 120


async def test_two_questions_back_to_back_are_answered_in_order_one_at_a_time(client, db, settings, stub):
    stub_control(stub, latency_ms=300)
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        first = await ask(client, learner, "Is a promise binding when keeping it causes harm?")
        second = await ask(client, learner, "Then what makes any promise binding at all?")
        done_first = await wait_answered(client, learner, first["request_id"])
        done_second = await wait_answered(client, learner, second["request_id"])

    assert (done_first["reply"]["seq"], done_second["reply"]["seq"]) == (3, 4)
    calls = stub_stats(stub)["calls"]
    assert [c["content"] for c in calls] == [
        "Is a promise binding when keeping it causes harm?",
        "Then what makes any promise binding at all?",
    ]
    assert calls[0]["ended"] <= calls[1]["started"], "the two calls overlapped"


async def test_reaching_the_hourly_limit_blocks_until_a_slot_frees_and_notifies_once(client, db, settings):
    learner = await new_learner(client, db)  # free: 10 questions an hour
    headers = {"Authorization": learner["Authorization"]}
    async with inprocess_worker(settings):
        for n in range(10):
            accepted = await ask(client, learner, f"Why is the sky blue, attempt {n}?")
            await wait_answered(client, learner, accepted["request_id"])

    notes = await db.fetch("SELECT kind, body, data FROM notifications WHERE user_id = $1::uuid", learner["user_id"])
    assert [n["kind"] for n in notes] == ["hourly_limit_reached"]
    assert "Upgrade to Paid" in notes[0]["body"]
    # Sliding window: the block ends when the first of the ten questions is an hour old,
    # the moment the next question is accepted — and what the 429's Retry-After says.
    blocked, slot_frees = await db.fetchrow(
        "SELECT s.blocked_until, (SELECT min(hit_at) + interval '1 hour' FROM rate_limits r "
        "                          WHERE r.subject = s.user_id::text AND r.action = 'question') "
        "  FROM subscriptions s WHERE s.user_id = $1::uuid",
        learner["user_id"],
    )
    assert blocked == slot_frees
    refused = await client.post(
        f"/conversations/{learner['conversation_id']}/messages", json={"content": "One more?"}, headers=headers
    )
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    seconds_left = await db.fetchval("SELECT extract(epoch FROM $1::timestamptz - now())", blocked)
    assert abs(retry_after - float(seconds_left)) <= 1.5


async def test_an_answer_finishes_its_job_in_the_transaction_that_stores_the_reply(client, db, settings, monkeypatch):
    # mukti_complete_stream_v4 deletes the answering job with the reply; Procrastinate's
    # own finish (a second transaction) is skipped for it and would fail on the gone row.
    finished: list[str] = []
    finish_job = JobManager.finish_job

    async def counted_finish(self, job, status, delete_job):
        finished.append(job.task_name)
        await finish_job(self, job, status, delete_job)

    monkeypatch.setattr(JobManager, "finish_job", counted_finish)
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        accepted = await ask(client, learner, "Can a rule be fair if nobody chose it?")
        done = await wait_answered(client, learner, accepted["request_id"])
        # The conversation's title, asked for with its first question, is a job like any other.
        await wait_until(
            lambda: db.fetchval("SELECT NOT EXISTS (SELECT FROM procrastinate_jobs)"), 10, "every job finished"
        )

    assert done["status"] == "completed"
    assert "answer_question" not in finished and finished, finished
