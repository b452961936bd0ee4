"""HTTP metrics of an API process: request counts and latencies by route template.

They are recorded into the process's SharedMetrics (core/metrics.py), which flushes them
to Postgres with everyone else's: /metrics shows the totals of every API process.
"""

from __future__ import annotations

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.metrics import SharedMetrics


def metrics_middleware_factory(app: ASGIApp) -> ASGIApp:
    """ASGI middleware that times every HTTP request, labelled by the matched route template."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            metrics: SharedMetrics = scope["app"].state.metrics
            route = str(scope.get("path_template") or "unmatched")
            method = str(scope.get("method", "GET"))
            metrics.inc(
                "mukti_http_requests_total", {"method": method, "route": route, "status": str(status_holder["status"])}
            )
            metrics.observe(
                "mukti_http_request_duration_seconds", time.perf_counter() - started, {"method": method, "route": route}
            )

    return middleware
