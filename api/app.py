"""The Litestar application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from api import accounts, admin, conversations, dialogue, library, search, sharing, usage, web
from api.errors import EXCEPTION_HANDLERS
from api.input_guard import reject_nul_characters
from api.ops import controllers as ops
from api.ops.metrics import Metrics, metrics_middleware_factory
from api.security import authentication_middleware
from core.database.pool import create_pool
from core.database.wake import JobWaker
from core.settings import Settings

FEATURES = (accounts, conversations, dialogue, search, library, sharing, usage, admin)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app. Nothing connects until the app starts (the pool opens in the lifespan)."""
    settings = settings or Settings.from_env()
    settings.check()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        app.state.waker = JobWaker(app.state.pool, window=settings.wake_window)
        try:
            yield
        finally:
            await app.state.waker.close()
            await app.state.pool.close()

    handlers: list[ControllerRouterHandler] = [*ops.ROUTE_HANDLERS]
    for feature in FEATURES:
        handlers.extend(feature.ROUTE_HANDLERS)
    if settings.web_client:
        handlers.extend(web.ROUTE_HANDLERS)

    return Litestar(
        before_request=reject_nul_characters,
        route_handlers=handlers,
        lifespan=[lifespan],
        state=State({"settings": settings, "metrics": Metrics(), "pool": None, "waker": None}),
        middleware=[metrics_middleware_factory, authentication_middleware()],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Mukti",
            version="0.1.0",
            description="Socratic tutoring backend: dialogues in which the LLM answers with questions.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"BearerToken": []}],
        ),
        cors_config=CORSConfig(allow_origins=[]),
        logging_config=None,
        debug=False,
    )


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def asgi() -> Litestar:
    """Entry point for ASGI servers (`uvicorn --factory api.app:asgi`)."""
    _configure_logging()
    return create_app()
