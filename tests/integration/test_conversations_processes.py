"""Asking through real API processes: limits hold across processes, and a killed process
leaves every accepted question whole."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Callable

import httpx

from tests.factories import create_user
from tests.integration.conversations_support import (
    assert_consistent,
    create_conversation,
    create_plan,
    written,
)
from tests.integration.processes_support import api_processes


async def fire(
    urls: list[str], user, conversation_id: str, n: int, on_response: Callable[[httpx.Response], None] = lambda _: None
) -> list[httpx.Response | BaseException]:
    """n questions at once, spread over the processes."""
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def one(i: int) -> httpx.Response:
            response = await http.post(
                f"{urls[i % len(urls)]}/conversations/{conversation_id}/messages",
                json={"content": f"question {i}"},
                headers=user.headers,
            )
            on_response(response)
            return response

        return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)


async def test_four_api_processes_accept_exactly_the_hourly_limit(database_url, db, settings):
    user = await create_user(db, settings)
    conversation_id = await create_conversation(db, user.id)

    async with api_processes(database_url, 4) as processes:
        responses = await fire([p.url for p in processes], user, conversation_id, 200)

    assert Counter(r.status_code for r in responses) == {202: 10, 429: 190}
    counts = await written(db)
    assert (counts["this_hour"], counts["requests"], counts["jobs"], counts["messages"]) == (10, 10, 10, 10)
    await assert_consistent(db)


async def test_killing_an_api_process_mid_burst_leaves_every_accepted_question_whole(database_url, db, settings):
    await create_plan(db, "bulk", per_hour=10_000, per_day=10_000, priority=5)
    user = await create_user(db, settings, plan="bulk")
    conversation_id = await create_conversation(db, user.id)

    async with api_processes(database_url, 1) as (process,):
        accepted: list[str] = []

        def kill_after_some(response: httpx.Response) -> None:
            if response.status_code == 202:
                accepted.append(response.json()["request_id"])
                if len(accepted) == 20:
                    process.proc.send_signal(signal.SIGKILL)

        responses = await fire([process.url], user, conversation_id, 400, kill_after_some)
    assert process.proc.returncode == -signal.SIGKILL
    assert any(isinstance(r, Exception) for r in responses), "the process died after the burst, not in it"

    # The backends of the killed process roll back (or finish committing) once they see it gone.
    # (A transaction reads pg_stat_activity once and keeps it: the loop clears that copy.)
    await db.execute("""DO $$ BEGIN
        WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                       AND application_name = 'mukti-api') LOOP
            PERFORM pg_sleep(0.05);
            PERFORM pg_stat_clear_snapshot();
        END LOOP; END $$""")
    await assert_consistent(db)
    counts = await written(db)
    assert len(accepted) >= 20
    assert counts["requests"] >= len(accepted)
    assert counts["requests"] == counts["jobs"] == counts["messages"] == counts["this_hour"] == counts["hits"], counts
    assert counts["message_count"] == counts["messages"]
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE id = ANY($1::uuid[])", accepted) == len(accepted)
