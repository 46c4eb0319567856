"""Prometheus metrics: HTTP (per route template, so ids don't explode cardinality) plus
whatever the kernel and contexts register on the default registry.

With several uvicorn worker processes set ``PROMETHEUS_MULTIPROC_DIR`` so the workers'
counters are aggregated (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="hub",
        prefix="hub",
        group_path=True,
        exclude_unhandled_paths=True,
        exclude=["/metrics"],
        exclude_opt_key="exclude_from_metrics",
    )


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
