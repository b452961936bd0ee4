"""LLM answers no retry can change (400, 401, 403, 404, 422) fail the request at once, with a
clear reason, and count as configuration errors; a worker warns at start about plans'
models its endpoint does not offer."""

from __future__ import annotations

import logging

import pytest

from core.llm.client import LlmClient
from core.llm.stub import StubServer
from core.settings import Settings
from jobs.resources import warn_about_missing_models
from tests.integration.answering_helpers import (
    ask,
    inprocess_worker,
    new_learner,
    stub_control,
    wait_answered,
    wait_until,
)


@pytest.fixture
def settings(database_url: str, stub: StubServer) -> Settings:
    return Settings(
        database_url=database_url,
        llm_base_url=stub.base_url,
        llm_timeout=5,
        worker_concurrency=4,
        burst_limit=0,
        max_attempts=3,
        metrics_flush_interval=0.2,
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_configuration_error_fails_the_request_at_once(client, db, settings, stub, status):
    stub_control(stub, fail_next=1000, fail_status=status)
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        accepted = await ask(client, learner, "What is justice?")
        done = await wait_answered(client, learner, accepted["request_id"])
        await scraped_while_running(
            client,
            'mukti_llm_calls_total{model="gpt-4o-mini",outcome="config_error"} 1.0',
            'mukti_jobs_total{outcome="succeeded",task="answer_question"} 1.0',
        )

    assert done["status"] == "failed" and done["attempts"] == 1
    assert f"HTTP {status}" in done["error"] and "configuration" in done["error"]


async def scraped_while_running(client, *lines: str) -> None:
    """The worker's counters reach a scrape with its next flush (every 0.2 s here). Waited
    for while it runs: the request is stored before its job returns to Procrastinate, so a
    worker stopped at once may stop that job before it counts as succeeded."""

    async def scraped():
        scrape = (await client.get("/metrics")).text
        return scrape if all(line in scrape for line in lines) else None

    await wait_until(scraped, 10, "the worker's metrics in a scrape")


async def test_a_temporary_error_is_still_retried(client, db, settings, stub):
    stub_control(stub, fail_next=1, fail_status=503)
    learner = await new_learner(client, db)
    async with inprocess_worker(settings):
        accepted = await ask(client, learner, "What is courage?")
        done = await wait_answered(client, learner, accepted["request_id"])
        await scraped_while_running(
            client,
            'mukti_llm_calls_total{model="gpt-4o-mini",outcome="server_error"} 1.0',
            'mukti_llm_calls_total{model="gpt-4o-mini",outcome="ok"} 1.0',
            'mukti_jobs_total{outcome="retry",task="answer_question"} 1.0',
            'mukti_llm_tokens_total{kind="completion",model="gpt-4o-mini"}',
        )
    assert done["status"] == "completed" and done["attempts"] == 2


async def test_the_worker_warns_about_models_the_endpoint_lacks(db, settings, stub, caplog):
    from core.database.gateway import Db
    from core.database.pool import create_pool

    await db.execute("UPDATE plans SET models = models || 'no-such-model'::text WHERE id = 'paid'")
    pool = await create_pool(settings, application_name="test", min_size=1, max_size=1, json_codecs=False)
    llm = LlmClient.from_settings(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="mukti.worker"):
            missing = await warn_about_missing_models(Db(pool), llm)
        assert missing == ["no-such-model"]
        assert any("no-such-model" in r.getMessage() for r in caplog.records)
        await db.execute("UPDATE plans SET models = array_remove(models, 'no-such-model') WHERE id = 'paid'")
        assert await warn_about_missing_models(Db(pool), llm) == []
    finally:
        await llm.aclose()
        await pool.close()
