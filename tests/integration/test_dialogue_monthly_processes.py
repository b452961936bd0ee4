"""Monthly limits through real API processes: a plan with 3 questions a month."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from tests.factories import create_user
from tests.integration.conversations_support import assert_consistent, create_conversation, written
from tests.integration.test_conversations_processes import api_processes, fire


async def test_four_api_processes_accept_exactly_the_monthly_limit(database_url, db, settings):
    await db.execute(
        "INSERT INTO plans (id, name, per_hour, per_day, priority, model, models, per_month)"
        " VALUES ('monthly3', 'Three a month', 100, 100, 1, 'gpt-4o-mini', ARRAY['gpt-4o-mini'], 3)"
    )
    user = await create_user(db, settings, plan="monthly3")
    conversation_id = await create_conversation(db, user.id)

    async with api_processes(database_url, 4) as processes:
        responses = await fire([p.url for p in processes], user, conversation_id, 40)

    assert Counter(r.status_code for r in responses) == {202: 3, 429: 37}
    refused = [r for r in responses if r.status_code == 429]
    assert {r.json()["code"] for r in refused} == {"quota_exhausted"}
    now = datetime.now(UTC)
    month_end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    for response in refused:
        assert abs(int(response.headers["retry-after"]) - (month_end - now).total_seconds()) <= 60
    counts = await written(db)
    assert (counts["requests"], counts["jobs"], counts["messages"]) == (3, 3, 3)
    assert await db.fetchval("SELECT questions_this_month FROM subscriptions WHERE user_id = $1::uuid", user.id) == 3
    await assert_consistent(db)
