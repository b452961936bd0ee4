"""Two `mukti api` processes and one `mukti worker`: one scrape of either API shows the totals
of all three (core/metrics.py: every process flushes its increments to Postgres)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from core.llm.stub import StubServer
from tests.factories import create_user
from tests.integration.answering_helpers import worker_process
from tests.integration.api_process import api_process

pytestmark = pytest.mark.slow


def _value(scrape: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", scrape, re.M)
    return float(match.group(1)) if match else 0.0


async def test_one_scrape_shows_the_totals_of_every_process(
    database_url, db, settings, stub: StubServer, tmp_path: Path
):
    env = {
        "LLM_BASE_URL": stub.base_url,
        "MUKTI_METRICS_FLUSH_INTERVAL": "0.2",
        "MUKTI_BURST_LIMIT": "1000",
        "MUKTI_DB_POOL_MIN": "1",
    }
    user = await create_user(db, settings)
    async with api_process(database_url, **env) as first, api_process(database_url, **env) as second:
        urls = [first, second]
        with worker_process(database_url, stub.base_url, tmp_path / "worker.log", MUKTI_METRICS_FLUSH_INTERVAL="0.2"):
            async with httpx.AsyncClient(timeout=10) as http:
                for i in range(10):  # 7 on the first API, 3 on the second
                    assert (await http.get(urls[0 if i < 7 else 1] + "/health")).status_code == 200
                conversation = (await http.post(urls[1] + "/conversations", json={}, headers=user.headers)).json()
                ask = f"{urls[1]}/conversations/{conversation['id']}/messages"
                for content in ("What is virtue?", "Can it be taught?"):
                    answer = await http.post(ask, json={"content": content}, headers=user.headers)
                    assert answer.status_code == 202, answer.text

                async def totals_seen() -> str:
                    # Other processes flush every 0.2 s: scrape until their increments are in.
                    for _ in range(200):
                        scrape = (await http.get(urls[0] + "/metrics")).text
                        if (
                            _value(scrape, 'mukti_jobs_total{outcome="succeeded",task="answer_question"}') == 2
                            # The conversation's title is generated after the first reply, in
                            # a job of its own: once it is done no LLM call is left in flight.
                            and _value(scrape, 'mukti_jobs_total{outcome="succeeded",task="generate_title"}') == 1
                            and _value(scrape, "mukti_llm_calls_in_flight") == 0
                            and _value(scrape, 'mukti_processes{role="api"}') == 2
                            and _value(scrape, 'mukti_processes{role="worker"}') == 1
                            and _value(scrape, 'mukti_http_requests_total{method="GET",route="/health",status="200"}')
                            == 10
                        ):
                            return scrape
                        await asyncio.sleep(0.1)
                    raise AssertionError("the totals never showed up; last scrape:\n" + scrape)

                scrape = await totals_seen()
                # The same totals from the other API process: scrapes agree whichever process answers.
                other = (await http.get(urls[1] + "/metrics")).text

    for text in (scrape, other):
        assert _value(text, 'mukti_http_requests_total{method="GET",route="/health",status="200"}') == 10
        assert (
            _value(
                text,
                'mukti_http_requests_total{method="POST",route="/conversations/{conversation_id}/messages",'
                'status="202"}',
            )
            == 2
        )
        assert _value(text, 'mukti_jobs_total{outcome="succeeded",task="answer_question"}') == 2
        # Two replies, and the conversation's generated title: every call timed and counted.
        calls = _value(text, 'mukti_llm_calls_total{model="gpt-4o-mini",outcome="ok"}')
        assert calls >= 2 and _value(text, 'mukti_llm_call_duration_seconds_count{model="gpt-4o-mini"}') == calls
        assert _value(text, 'mukti_llm_tokens_total{kind="completion",model="gpt-4o-mini"}') > 0
        assert _value(text, "mukti_llm_calls_in_flight") == 0
        assert _value(text, 'mukti_db_pool_connections{role="api",state="max"}') > 0
        assert _value(text, 'mukti_db_pool_connections{role="worker",state="max"}') > 0
        assert 'mukti_process_resident_memory_bytes{process="' in text
    assert await db.fetchval("SELECT count(*) FROM request_queue WHERE status = 'completed'") == 2
    # The API processes stopped cleanly (SIGTERM) and took their gauges with them; the worker
    # was killed (worker_process): its gauges stay until they are forgotten as stale.
    assert await db.fetchval("SELECT count(*) FROM metric_gauges WHERE process LIKE '%:api:%'") == 0
