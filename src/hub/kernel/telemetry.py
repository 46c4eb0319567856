"""Prometheus metrics of the event and job machinery (default registry, served at /metrics).

Registered once per process at import. In ``hub run`` they appear on the API's
``/metrics``; a separate ``hub worker`` serves them itself when HUB_WORKER_METRICS_PORT is
set (see ``hub.worker``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "hub_events_published_total",
    "Outbox rows the relay handed to the broker.",
    ["schema", "event_type"],
)
EVENTS_CONSUMED = Counter(
    "hub_events_consumed_total",
    "Events a subscriber handled (its effect committed).",
    ["handler"],
)
EVENTS_DUPLICATE = Counter(
    "hub_events_duplicate_total",
    "Redelivered events a subscriber skipped because its inbox already had them.",
    ["handler"],
)
EVENTS_FAILED = Counter(
    "hub_events_failed_total",
    "Subscriber runs that raised (each is retried or dead-lettered).",
    ["handler"],
)
RELAY_ERRORS = Counter(
    "hub_relay_errors_total",
    "Relay passes that could not hand rows to the broker (e.g. Redis down).",
    ["schema"],
)
OUTBOX_PENDING = Gauge(
    "hub_outbox_pending",
    "Committed outbox rows not yet handed to the broker, per schema (as last seen).",
    ["schema"],
)
OUTBOX_LAG = Gauge(
    "hub_outbox_lag_seconds",
    "Age of the oldest outbox row not yet handed to the broker (0 when none).",
    ["schema"],
)
EVENT_DELIVERY_LATENCY = Histogram(
    "hub_event_commit_to_handled_seconds",
    "From the event's occurrence to its subscriber's commit.",
    ["handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
JOB_DURATION = Histogram(
    "hub_job_duration_seconds",
    "Wall time of one job run (successful or not).",
    ["job", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
JOB_RETRIES = Counter(
    "hub_job_retries_total",
    "Job runs that failed and were scheduled again.",
    ["job"],
)
JOB_DEAD = Counter(
    "hub_job_dead_lettered_total",
    "Jobs that exhausted their retries (or raised a permanent error) and were dead-lettered.",
    ["job"],
)
SCHEDULED_RUNS = Counter(
    "hub_scheduled_runs_total",
    "Periodic jobs the scheduler enqueued.",
    ["name"],
)
