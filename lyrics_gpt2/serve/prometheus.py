"""Prometheus metrics of the lyrics service, served as text at ``GET /metrics``.

Each app has its own registry, so tests (and several apps in one process) never share counts.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "lyrics_requests", "HTTP requests by route and status", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "lyrics_request_seconds",
            "time from request to last byte, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_token = Histogram(
            "lyrics_first_token_seconds",
            "time from request to the first sampled token",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge("lyrics_queue_depth", "requests waiting for rows", registry=r)
        self.active_rows = Gauge("lyrics_active_rows", "songs being sampled now", registry=r)
        self.batch_rows = Histogram(
            "lyrics_batch_rows",
            "rows in each sampling step",
            buckets=(1, 2, 4, 8, 16, 24, 32, 48, 64, 128),
            registry=r,
        )
        self.tokens = Counter("lyrics_tokens_generated", "tokens sampled", registry=r)
        self.abandoned = Counter(
            "lyrics_rows_abandoned", "rows dropped because their client went away", registry=r
        )

    def text(self) -> bytes:
        return generate_latest(self.registry)


def route_label(scope) -> str:
    """The route template that answered (``/v1/songs``), ``/static`` for the page's files, or
    ``unmatched``: a client inventing paths must not invent label values (series)."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    path, root = scope.get("path", ""), scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root) else path
    return "/static" if path.startswith("/static/") else "unmatched"


class RequestMetrics:
    """ASGI middleware: count every response by route template and status and time it to the
    last byte (a stream included), without buffering the body."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0, status = time.perf_counter(), [499]  # 499: the client went away before an answer

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = route_label(scope)
            self.metrics.requests.labels(route, str(status[0])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - t0)
