"""A model without a price is reported at start-up and by /metrics; its calls cost 0."""

from __future__ import annotations

import logging

from tests.live_app import live_client


async def test_an_unpriced_model_is_reported_at_startup_and_as_a_metric(db, settings, caplog):
    await db.execute(
        "INSERT INTO plans (id, name, per_hour, per_day, priority, model) VALUES ('lab', 'Lab', 5, 10, 1, 'mystery-1')"
    )
    with caplog.at_level(logging.WARNING, logger="mukti.pricing"):
        async with live_client(settings) as client:
            metrics = (await client.get("/metrics")).text
            assert 'mukti_unpriced_model{model="mystery-1"} 1.0' in metrics
            assert "gpt-4o" not in metrics.split("mukti_unpriced_model", 1)[1]

            await db.execute(
                "INSERT INTO model_prices (model, prompt_per_1k, completion_per_1k) "
                "VALUES ('mystery-1', 0.0001, 0.0002)"
            )
            assert 'mukti_unpriced_model{model="mystery-1"}' not in (await client.get("/metrics")).text
    assert any("'mystery-1'" in r.getMessage() and "no price" in r.getMessage() for r in caplog.records)
