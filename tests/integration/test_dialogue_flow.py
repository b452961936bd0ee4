"""Dialogue through a real worker and the stub LLM: regenerate, edit, generated titles,
monthly limits, follow-ups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from core.settings import Settings
from jobs.dialogue import send_follow_ups
from jobs.resources import open_resources
from tests.integration.answering_helpers import ask, inprocess_worker, new_learner, wait_answered, wait_until
from tests.integration.conversations_support import assert_consistent


def _auth(learner: dict[str, str]) -> dict[str, str]:
    return {"Authorization": learner["Authorization"]}


async def _versions(client, learner, seq: int) -> list[dict]:
    url = f"/conversations/{learner['conversation_id']}/messages/{seq}/versions"
    response = await client.get(url, headers=_auth(learner))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_two_regenerates_at_once_give_one_new_version_not_a_new_message(client, db, settings, stub):
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        first = await ask(client, learner, "Is courage the absence of fear?")
        await wait_answered(client, learner, first["request_id"])

        url = f"/conversations/{learner['conversation_id']}/regenerate"
        both = await asyncio.gather(*(client.post(url, headers=_auth(learner)) for _ in range(2)))
        assert sorted(r.status_code for r in both) == [202, 409], [r.text for r in both]
        accepted = next(r for r in both if r.status_code == 202)
        assert accepted.headers["location"] == f"/queue/{accepted.json()['request_id']}"
        refused = next(r for r in both if r.status_code == 409)
        assert refused.json()["code"] == "conflict"
        done = await wait_answered(client, learner, accepted.json()["request_id"])
        assert done["status"] == "completed" and done["reply"]["seq"] == 2

    conversation = (await client.get(f"/conversations/{learner['conversation_id']}", headers=_auth(learner))).json()
    assert conversation["message_count"] == 2
    assert [m["seq"] for m in conversation["recent_messages"]] == [1, 2]
    versions = await _versions(client, learner, 2)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[-1]["content"] == conversation["recent_messages"][1]["content"]
    history = (await client.get(f"/conversations/{learner['conversation_id']}/messages", headers=_auth(learner))).json()
    assert [m["seq"] for m in history["items"]] == [1, 2]
    # Two questions counted: the first and the regenerate.
    assert await db.fetchval("SELECT count(*) FROM rate_limits WHERE user_id = $1::uuid", learner["user_id"]) == 2
    await assert_consistent(db)


async def test_edit_the_last_question_keeps_the_old_text_and_answers_the_new_one(client, db, settings, stub):
    learner = await new_learner(client, db)
    base = f"/conversations/{learner['conversation_id']}/messages"
    async with inprocess_worker(settings):
        first = await ask(client, learner, "What is justice?")
        # Not finished yet (or just finished): the reply must exist before an edit.
        await wait_answered(client, learner, first["request_id"])
        second = await ask(client, learner, "Is a just person always happy?")
        pending_edit = await client.patch(f"{base}/3", json={"content": "x"}, headers=_auth(learner))
        assert pending_edit.status_code in (409, 202)
        if pending_edit.status_code == 202:  # the reply was already stored: answer the edit too
            await wait_answered(client, learner, pending_edit.json()["request_id"])
        await wait_answered(client, learner, second["request_id"])

        not_last = await client.patch(f"{base}/1", json={"content": "Is justice a virtue?"}, headers=_auth(learner))
        assert not_last.status_code == 409, not_last.text
        a_reply = await client.patch(f"{base}/4", json={"content": "no"}, headers=_auth(learner))
        assert a_reply.status_code == 409
        missing = await client.patch(f"{base}/99", json={"content": "no"}, headers=_auth(learner))
        assert missing.status_code == 404
        blank = await client.patch(f"{base}/3", json={"content": "  "}, headers=_auth(learner))
        assert blank.status_code == 422 and blank.json()["field"] == "content"

        edited = await client.patch(f"{base}/3", json={"content": "Can tyranny be just?"}, headers=_auth(learner))
        assert edited.status_code == 202, edited.text
        assert edited.json()["message_seq"] == 3
        await wait_answered(client, learner, edited.json()["request_id"])

    question_versions = await _versions(client, learner, 3)
    assert [v["content"] for v in question_versions][-1] == "Can tyranny be just?"
    assert "Is a just person always happy?" in [v["content"] for v in question_versions]
    reply = await db.fetchval(
        "SELECT content FROM recent_messages WHERE conversation_id = $1::uuid AND seq = 4", learner["conversation_id"]
    )
    assert "tyranny" in reply  # the stub's question is about the new text's key word
    assert (
        await db.fetchval("SELECT message_count FROM conversations WHERE id = $1::uuid", learner["conversation_id"])
        == 4
    )
    # Search sees the newest version only.
    hits = (await client.get("/search", params={"q": "happy"}, headers=_auth(learner))).json()["items"]
    assert hits == []
    hits = (await client.get("/search", params={"q": "tyranny"}, headers=_auth(learner))).json()["items"]
    assert {h["seq"] for h in hits} >= {3}
    await assert_consistent(db)


async def test_a_conversation_without_a_title_gets_one_after_its_first_reply(client, db, settings, stub):
    learner = await new_learner(client, db)
    headers = _auth(learner)
    untitled = (await client.post("/conversations", json={}, headers=headers)).json()["id"]
    learner_untitled = {**learner, "conversation_id": untitled}
    async with inprocess_worker(settings):
        asked = await ask(client, learner_untitled, "Can friendship exist between unequals?")
        await wait_answered(client, learner_untitled, asked["request_id"])
        titled = await ask(client, learner, "Can friendship exist between unequals?")  # the user's own title
        await wait_answered(client, learner, titled["request_id"])

        async def titled_by_job():
            row = await db.fetchrow("SELECT title, title_source FROM conversations WHERE id = $1::uuid", untitled)
            return row if row["title_source"] == "generated" else None

        row = await wait_until(titled_by_job, 20, "the generated title")
    assert row["title"] == "On Friendship"
    assert (
        await db.fetchval("SELECT title FROM conversations WHERE id = $1::uuid", learner["conversation_id"])
        == "On justice"
    )


async def test_a_reply_that_crosses_the_monthly_token_budget_completes_and_the_next_question_is_refused(
    client, db, settings, stub
):
    await db.execute(
        "INSERT INTO plans (id, name, per_hour, per_day, priority, model, models, tokens_per_month)"
        " VALUES ('budget', 'Budget', 50, 100, 1, 'gpt-4o-mini', ARRAY['gpt-4o-mini'], 20)"
    )
    learner = await new_learner(client, db, plan="budget")
    async with inprocess_worker(settings):
        first = await ask(client, learner, "What makes a life worth living, in your view?")
        done = await wait_answered(client, learner, first["request_id"])
    assert done["status"] == "completed"
    assert done["reply"]["prompt_tokens"] + done["reply"]["completion_tokens"] > 20
    refused = await client.post(
        f"/conversations/{learner['conversation_id']}/messages", json={"content": "And why?"}, headers=_auth(learner)
    )
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exhausted"
    assert "monthly token budget" in refused.json()["detail"]
    now = datetime.now(UTC)
    month_end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    assert abs(int(refused.headers["retry-after"]) - (month_end - now).total_seconds()) <= 5
    subscription = (await client.get("/me/subscription", headers=_auth(learner))).json()
    assert subscription["limits"]["tokens_per_month"] == 20 and subscription["limits"]["per_month"] is None
    assert subscription["usage"]["this_month"] == 1
    assert (
        subscription["usage"]["tokens_this_month"]
        == done["reply"]["prompt_tokens"] + done["reply"]["completion_tokens"]
    )


async def _idle_conversation(db, learner: dict[str, str], days: int) -> None:
    await db.execute(
        "UPDATE conversations SET last_activity_at = now() - make_interval(days => $2) WHERE id = $1::uuid",
        learner["conversation_id"],
        days,
    )


async def test_follow_ups_run_twice_at_once_send_exactly_one_and_none_to_the_opted_out(client, db, settings, stub):
    opted_in = await new_learner(client, db)
    opted_out = await new_learner(client, db)
    for learner, enabled in ((opted_in, True), (opted_out, False)):
        response = await client.patch(
            "/me", json={"preferences": {"follow_ups": {"enabled": enabled, "after_days": 3}}}, headers=_auth(learner)
        )
        assert response.status_code == 200, response.text
    async with inprocess_worker(settings):
        for learner in (opted_in, opted_out):
            asked = await ask(client, learner, "Why do we keep promises?")
            await wait_answered(client, learner, asked["request_id"])
    for learner in (opted_in, opted_out):
        await _idle_conversation(db, learner, 4)

    worker_settings = Settings(database_url=settings.database_url, llm_base_url=stub.base_url)
    async with open_resources(worker_settings) as res:
        sent = await asyncio.gather(send_follow_ups(res), send_follow_ups(res))
        assert sorted(sent) == [0, 1]
        assert await send_follow_ups(res) == 0  # one per idle period

    rows = await db.fetch(
        "SELECT conversation_id::text, seq, role FROM recent_messages WHERE seq = 3 ORDER BY conversation_id"
    )
    assert [(r["conversation_id"], r["role"]) for r in rows] == [(opted_in["conversation_id"], "assistant")]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM notifications WHERE kind = 'follow_up' AND user_id = $1::uuid", opted_in["user_id"]
        )
        == 1
    )
    assert await db.fetchval("SELECT count(*) FROM usage_events WHERE event_type = 'follow_up'") == 1
    # The learner's quota paid nothing for it.
    assert await db.fetchval("SELECT count(*) FROM rate_limits WHERE user_id = $1::uuid", opted_in["user_id"]) == 1
    await assert_consistent(db)


async def test_follow_up_preferences_are_validated(client, db):
    learner = await new_learner(client, db)
    for bad in ({"enabled": "yes", "after_days": 3}, {"enabled": True, "after_days": 0}, {"enabled": True}, 5):
        response = await client.patch("/me", json={"preferences": {"follow_ups": bad}}, headers=_auth(learner))
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["field"].startswith("preferences.follow_ups")
