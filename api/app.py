"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.types import ControllerRouterHandler

from api import accounts, admin, conversations, dialogue, library, live, search, sharing, usage, web
from api.conversations.batches import AcceptBatches
from api.database import DEPENDENCIES
from api.errors import EXCEPTION_HANDLERS
from api.input_guard import reject_nul_characters
from api.live.relay import Hub
from api.openapi import assets_router, install_refined_schema, openapi_config
from api.ops import controllers as ops
from api.ops.metrics import metrics_middleware_factory
from api.request_context import request_id_middleware_factory, require_json_body, send_request_id
from api.security import authentication_middleware
from core.database.gateway import Db
from core.database.pool import create_pool
from core.database.replica import ReadRouter
from core.database.wake import JobWaker
from core.heap import freeze_startup_heap
from core.logs import configure_logging
from core.metrics import SharedMetrics, pool_gauges
from core.settings import Settings
from db import metrics_store
from db.pricing import warn_unpriced_models

FEATURES = (accounts, conversations, dialogue, live, search, library, sharing, usage, admin)


async def _before_request(request: Request) -> None:
    """Litestar keeps one before_request hook per layer: the body's type first (415, before
    anything reads it), then NUL characters (422)."""
    await require_json_body(request)
    await reject_nul_characters(request)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app. Nothing connects until the app starts (the pool opens in the lifespan)."""
    settings = settings or Settings.from_env()
    settings.check()

    metrics = SharedMetrics("api")

    def count_accept_batch(outcome: str, size: int) -> None:
        metrics.inc("mukti_accept_batches_total", {"outcome": outcome})
        metrics.inc("mukti_accept_batched_questions_total", {"outcome": outcome}, size)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        app.state.waker = JobWaker(app.state.pool, window=settings.wake_window)
        await warn_unpriced_models(app.state.pool)
        metrics.add_gauge_source(pool_gauges(app.state.pool, "api"))
        flusher = asyncio.create_task(
            metrics_store.run_flusher(app.state.pool, metrics, settings.metrics_flush_interval)
        )
        # The replica's pool connects lazily (min_size 0): a standby that is down at start
        # only sends the lag-tolerant reads to the primary.
        replica = await create_pool(settings, url=settings.replica_url, min_size=0) if settings.replica_url else None
        app.state.router = ReadRouter(
            settings,
            app.state.pool,
            replica,
            on_read=lambda server: metrics.inc("mukti_lag_tolerant_reads_total", {"server": server}),
        )
        await app.state.router.start()
        app.state.db = Db(app.state.pool, router=app.state.router)
        app.state.accepts = AcceptBatches(
            app.state.db,
            settings,
            senders=settings.db_pool_max,
            max_batch=settings.accept_batch_max,
            on_batch=count_accept_batch,
        )
        # The one LISTEN of this process for live answers (api/live/relay.py).
        app.state.live = Hub(settings, app.state.pool)
        try:
            await app.state.live.start()
            yield
        finally:
            await app.state.accepts.close(settings.db_acquire_timeout)
            await app.state.waker.close()
            await app.state.router.close()
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await app.state.live.stop()
            await app.state.pool.close()

    handlers: list[ControllerRouterHandler] = [*ops.ROUTE_HANDLERS, assets_router()]
    for feature in FEATURES:
        handlers.extend(feature.ROUTE_HANDLERS)
    if settings.web_client:
        handlers.extend(web.ROUTE_HANDLERS)

    app = Litestar(
        route_handlers=handlers,
        dependencies=DEPENDENCIES,
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "metrics": metrics,
                "pool": None,
                "router": None,
                "db": None,
                "live": None,
                "waker": None,
                "accepts": None,
            }
        ),
        # The request id first: everything after it logs with the id.
        middleware=[request_id_middleware_factory, metrics_middleware_factory, authentication_middleware()],
        before_send=[send_request_id],
        before_request=_before_request,
        request_max_body_size=settings.max_body_size,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(
            title="Mukti",
            version="0.1.0",
            description="Socratic tutoring backend: dialogues in which the LLM answers with questions. "
            "The reference with the flows (ask, stream, poll, share) is docs/api.md in the repository.",
        ),
        cors_config=CORSConfig(allow_origins=[]),
        logging_config=None,
        debug=False,
    )
    install_refined_schema(app)
    return app


def asgi() -> Litestar:
    """Entry point for ASGI servers (`uvicorn --factory api.app:asgi`)."""
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    app = create_app(settings)
    freeze_startup_heap()  # once per server process (tests build apps in-process: not there)
    return app
