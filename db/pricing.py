"""Models without a price: their calls cost 0 in every report, so they are reported at
start-up (API and worker) and exported by /metrics (mukti_unpriced_model)."""

from __future__ import annotations

import logging

import asyncpg

from core.database.gateway import Db

log = logging.getLogger("mukti.pricing")


async def unpriced_models(db: Db) -> list[str]:
    return [row["model"] for row in await db.fetch("unpriced_models")]


async def warn_unpriced_models(pool: asyncpg.Pool) -> list[str]:
    """Log a warning naming each unpriced model; returns them. Run at a process's start-up,
    with its pool (plans and prices belong to no user)."""
    models = await unpriced_models(Db(pool))
    for model in models:
        log.warning(
            "model %r of a plan has no price in model_prices: its calls are recorded at cost 0 "
            "(INSERT INTO model_prices (model, prompt_per_1k, completion_per_1k) VALUES (...))",
            model,
        )
    return models
