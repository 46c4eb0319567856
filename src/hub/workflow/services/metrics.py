"""Prometheus metrics of the workflow context (default registry, served at /metrics by the
app and at ``HUB_WORKER_METRICS_PORT`` by workers).

Per workflow: the ``workflow`` label is the workflow key (the same key in two
organisations shares a series: organisations are not labels). Label values are bounded
per process: the first ``MAX_WORKFLOWS`` keys and ``MAX_STATES`` (key, state) pairs seen
get series of their own, later ones are counted under ``other``, so a tenant publishing
thousands of keys cannot blow up the scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client import Counter, Histogram
from sqlalchemy import event

from hub.kernel.db import UnitOfWork

MAX_WORKFLOWS = 100
MAX_STATES = 1000
OTHER = "other"


class BoundedLabels:
    """Hands out label values, keeping at most ``limit`` distinct ones (then ``other``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()

    def __call__(self, *values: str) -> tuple[str, ...]:
        with self._lock:
            if values in self._seen:
                return values
            if len(self._seen) < self.limit:
                self._seen.add(values)
                return values
        return tuple(OTHER for _ in values)


_WORKFLOWS = BoundedLabels(MAX_WORKFLOWS)
_STATES = BoundedLabels(MAX_STATES)


def workflow(key: str) -> str:
    return _WORKFLOWS(key)[0]


def workflow_state(key: str, state: str) -> tuple[str, str]:
    name = workflow(key)
    if name == OTHER:
        return OTHER, OTHER
    return _STATES(name, state)  # type: ignore[return-value]


INSTANCES_STARTED = Counter(
    "hub_workflow_instances_started_total",
    "Workflow instances started, by workflow and how (user, api_key, system for triggers).",
    ["workflow", "actor_type"],
)
INSTANCES_ENDED = Counter(
    "hub_workflow_instances_ended_total",
    "Workflow instances that ended, by workflow and status (completed, cancelled).",
    ["workflow", "status"],
)
TRANSITIONS = Counter(
    "hub_workflow_transitions_total",
    "Transitions taken, by workflow, state entered and actor type (user, api_key, system, timer).",
    ["workflow", "to_state", "actor_type"],
)
TIME_IN_STATE = Histogram(
    "hub_workflow_time_in_state_seconds",
    "How long instances stayed in a state, observed when they leave it.",
    ["workflow", "state"],
    buckets=(60, 600, 3600, 4 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400),
)
SLA_BREACHES = Counter(
    "hub_workflow_sla_breaches_total",
    "SLA steps fired at 100 % of a state's SLA or later, by workflow.",
    ["workflow"],
)
TRIGGERED = Counter(
    "hub_workflow_triggered_total",
    "Instances started by a trigger, by kind (event, cron, date).",
    ["kind"],
)
TIMERS_FIRED = Counter(
    "hub_workflow_timers_fired_total",
    "SLA timers fired, by step kind (remind, escalate, transition).",
    ["kind"],
)
TIMER_LATENESS = Histogram(
    "hub_workflow_timer_lateness_seconds",
    "From a timer's due time to its firing.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)


def _after_commit(uow: UnitOfWork, record: Callable[[], None]) -> None:
    """Count once ``uow`` commits: a step that rolls back (a 409) counts nothing."""
    event.listen(uow.session.sync_session, "after_commit", lambda _session: record(), once=True)


def started(uow: UnitOfWork, key: str, actor_type: str) -> None:
    name = workflow(key)
    _after_commit(uow, lambda: INSTANCES_STARTED.labels(name, actor_type).inc())


def left_state(
    uow: UnitOfWork,
    key: str,
    state: str,
    seconds: float,
    *,
    to_state: str | None,
    actor_type: str,
    ended: str | None,
) -> None:
    """A transition out of ``state`` (``to_state``) or a cancel (``to_state`` None), after
    ``seconds`` in it; ``ended``: the status the instance ended with, if it did."""
    name, left = workflow_state(key, state)

    def record() -> None:
        TIME_IN_STATE.labels(name, left).observe(max(0.0, seconds))
        if to_state is not None:
            TRANSITIONS.labels(name, workflow_state(key, to_state)[1], actor_type).inc()
        if ended is not None:
            INSTANCES_ENDED.labels(name, ended).inc()

    _after_commit(uow, record)


def sla_breach(uow: UnitOfWork, key: str) -> None:
    name = workflow(key)
    _after_commit(uow, lambda: SLA_BREACHES.labels(name).inc())


def triggered(uow: UnitOfWork, kind: str) -> None:
    _after_commit(uow, lambda: TRIGGERED.labels(kind).inc())
