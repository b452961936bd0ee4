"""Prometheus metrics: request counts and latencies by route template, queue depth.

Each app gets its own registry, so tests that build many apps never collide on
metric names.
"""

from __future__ import annotations

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mukti_http_requests_total", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "mukti_http_request_duration_seconds",
            "Time to answer HTTP requests",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "mukti_queue_depth", "Requests in the question queue by status", ["status"], registry=self.registry
        )
        self.queue_oldest_pending = Gauge(
            "mukti_queue_oldest_pending_seconds", "Age of the oldest pending request", registry=self.registry
        )
        self.retention_deleted = Gauge(
            "mukti_retention_deleted_rows",
            "Rows deleted so far by the lifetime purge, per table (since the table was first purged)",
            ["table"],
            registry=self.registry,
        )
        self.retention_last_run = Gauge(
            "mukti_retention_last_run_timestamp_seconds",
            "When the lifetime purge last ran on each table",
            ["table"],
            registry=self.registry,
        )
        self.default_partition_rows = Gauge(
            "mukti_default_partition_rows",
            "Rows that landed in a default partition (should be 0)",
            ["table"],
            registry=self.registry,
        )


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
            metrics: Metrics = scope["app"].state.metrics
            route = scope.get("path_template") or "unmatched"
            method = scope.get("method", "GET")
            metrics.requests.labels(method, route, str(status_holder["status"])).inc()
            metrics.latency.labels(method, route).observe(time.perf_counter() - started)

    return middleware
