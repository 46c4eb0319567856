"""Prometheus metrics for HTTP, per route template (ids don't explode cardinality).

A lean middleware instead of Litestar's PrometheusMiddleware: that one rebuilt label
dictionaries and looked up metric children on every request (~45 µs per request here,
a quarter of a whole hub request — bench/README.md); this one caches the labelled
children per (method, route, status) and does three cheap updates.

With several uvicorn worker processes set ``PROMETHEUS_MULTIPROC_DIR`` so the workers'
counters are aggregated (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "hub_requests_total", "HTTP requests answered", ["method", "path", "status_code"]
)
DURATION = Histogram(
    "hub_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "path", "status_code"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_PROGRESS = Gauge("hub_requests_in_progress", "HTTP requests being answered", ["method", "path"])

_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_gauges: dict[tuple[str, str], Any] = {}


def _observe(method: str, path: str, status: int, seconds: float) -> None:
    key = (method, path, status)
    pair = _children.get(key)
    if pair is None:
        labels = (method, path, str(status))
        pair = _children[key] = (REQUESTS.labels(*labels), DURATION.labels(*labels))
    pair[0].inc()
    pair[1].observe(seconds)


class MetricsMiddleware:
    """Route-level (Litestar applies app middleware after routing, so the route template
    is known). A route opts out with ``opt={"exclude_from_metrics": True}``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] != ScopeType.HTTP or (
            handler is not None and handler.opt.get("exclude_from_metrics")
        ):
            await self.app(scope, receive, send)
            return
        method: str = scope.get("method", "GET")
        path: str = scope.get("path_template") or scope["path"]
        gauge_key = (method, path)
        gauge = _gauges.get(gauge_key)
        if gauge is None:
            gauge = _gauges[gauge_key] = IN_PROGRESS.labels(method, path)
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        gauge.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            gauge.dec()
            _observe(method, path, status, time.perf_counter() - started)


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
