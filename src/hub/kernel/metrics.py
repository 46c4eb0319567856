"""Prometheus metrics for HTTP, per route template (ids don't explode cardinality).

A lean middleware instead of Litestar's PrometheusMiddleware: that one rebuilt label
dictionaries and looked up metric children on every request (~45 µs per request here,
a quarter of a whole hub request — bench/README.md); this one caches the labelled
children per (method, route, status) and does three cheap updates.

With several uvicorn worker processes set ``PROMETHEUS_MULTIPROC_DIR`` so the workers'
counters are aggregated (prometheus-client's multiprocess mode); a worker started without
it refuses to start (:func:`multiprocess_problem`), since each scrape would otherwise
show whichever worker answered it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
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


MULTIPROC_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


def uvicorn_workers(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """How many processes uvicorn's ``--workers`` supervisor runs, read from the command
    line a spawned worker inherits (``--workers N``, ``--workers=N``), else from
    ``WEB_CONCURRENCY`` (uvicorn's own default for the option); 1 when neither says."""
    value = environ.get("WEB_CONCURRENCY")
    for i, arg in enumerate(argv):
        if arg == "--workers" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1


def multiprocess_problem(
    argv: Sequence[str], environ: Mapping[str, str], *, spawned: bool
) -> str | None:
    """Why this API process must not start, or None: it is one of several uvicorn workers
    (``spawned``: started by a supervisor) and ``PROMETHEUS_MULTIPROC_DIR`` does not name
    a directory, so ``/metrics`` would count one worker's requests only."""
    workers = uvicorn_workers(argv, environ)
    if not spawned or workers < 2:
        return None
    directory = next((environ[v] for v in MULTIPROC_VARIABLES if environ.get(v)), None)
    if directory is not None and os.path.isdir(directory):
        return None
    got = f" (got {directory!r}, not a directory)" if directory is not None else ""
    return (
        f"PROMETHEUS_MULTIPROC_DIR must name an empty, writable directory when uvicorn runs "
        f"{workers} workers, or /metrics shows one worker's counts{got}; "
        "or run one process per container"
    )


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
