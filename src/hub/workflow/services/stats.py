"""``GET /workflows/{key}/stats``: instances per state and status, and per state the
stays so far, their median duration and how many overran the state's SLA (measured
against the SLA of the version each instance runs; a stay still going counts up to now);
the running instances per version and the open incidents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hub.kernel.clock import Clock
from hub.kernel.problems import not_found
from hub.kernel.store import Store
from hub.workflow import repositories


@dataclass(frozen=True)
class StateStats:
    state: str
    #: Active instances in the state now.
    active: int
    stays: int
    median_seconds: float | None
    sla_breaches: int


@dataclass(frozen=True)
class VersionStats:
    version: int
    #: Running instances on this version.
    active: int


@dataclass(frozen=True)
class WorkflowStats:
    key: str
    by_status: dict[str, int]
    states: list[StateStats]
    sla_breaches: int
    #: Running instances per version (what a move to the newest would concern).
    versions: list[VersionStats]
    #: Failed effects waiting to be retried or dismissed.
    incidents: int


class StatsService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    async def of(self, organisation_id: uuid.UUID, key: str) -> WorkflowStats:
        if await repositories.latest_definition(self.store, organisation_id, key) is None:
            raise not_found("workflow")
        counts = await repositories.instances_by_state(self.store, organisation_id, key)
        stays = await repositories.stays_by_state(self.store, organisation_id, key, self.clock())
        by_status: dict[str, int] = {}
        active: dict[str, int] = {}
        for row in counts:
            by_status[row.status] = by_status.get(row.status, 0) + int(row.n)
            if row.status == "active":
                active[row.state] = int(row.n)
        states = [
            StateStats(
                state=row.state,
                active=active.get(row.state, 0),
                stays=int(row.stays),
                median_seconds=float(row.median_seconds)
                if row.median_seconds is not None
                else None,
                sla_breaches=int(row.breaches),
            )
            for row in stays
        ]
        return WorkflowStats(
            key=key,
            by_status=by_status,
            states=states,
            sla_breaches=sum(s.sla_breaches for s in states),
            versions=[
                VersionStats(version=int(r.workflow_version), active=int(r.n))
                for r in await repositories.active_by_version(self.store, organisation_id, key)
            ],
            incidents=await repositories.incident_count(self.store, organisation_id, key),
        )
