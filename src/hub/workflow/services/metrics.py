"""Prometheus metrics of the workflow context (default registry, served at /metrics).

Process-wide totals, not per workflow: a label per organisation's key and state would
grow without bound; ``GET /workflows/{key}/stats`` answers per workflow."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INSTANCES_STARTED = Counter(
    "hub_workflow_instances_started_total",
    "Workflow instances started, by how (user, api_key, system for triggers).",
    ["actor_type"],
)
TRANSITIONS = Counter(
    "hub_workflow_transitions_total",
    "Transitions taken, by actor type (user, api_key, system, timer).",
    ["actor_type"],
)
TIMERS_FIRED = Counter(
    "hub_workflow_timers_fired_total",
    "SLA timers fired, by step kind (remind, escalate, transition).",
    ["kind"],
)
SLA_BREACHES = Counter(
    "hub_workflow_sla_breaches_total",
    "SLA steps fired at 100 % of a state's SLA or later.",
)
TIMER_LATENESS = Histogram(
    "hub_workflow_timer_lateness_seconds",
    "From a timer's due time to its firing.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
