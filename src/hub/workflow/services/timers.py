"""Durable timers: the SLA ladder of each stay of an instance in a state.

Timers are rows (``workflow.timers``), written with the step that entered the state and
cancelled by the step that leaves it, so they survive restarts of every process. The
timer loop (``services.timer_loop``, in every worker process running the scheduler)
claims due timers with ``FOR UPDATE SKIP LOCKED``: marking one fired, its
notification effects, its transition and its event commit together, so a timer fires
exactly once even with several workers, and a crash before the commit leaves it pending
for the next run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select, update

from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError
from hub.kernel.store import Store
from hub.workflow.api import SlaStepReached
from hub.workflow.models import Instance, Task, Timer
from hub.workflow.services import metrics
from hub.workflow.services.instances import Actor, InstanceService

#: Timers claimed (and committed) together by one firing transaction.
CLAIM = 50
#: The template SLA notifications use unless the step names one (payload: title, text).
DEFAULT_TEMPLATE = "general.announcement"


log = structlog.get_logger(__name__)


class TimerService:
    def __init__(self, store: Store, clock: Clock, instances: InstanceService) -> None:
        self.store, self.clock, self.instances = store, clock, instances

    async def fire_due(self, *, limit: int = 500) -> int:
        """Fire up to ``limit`` due timers; answers how many fired.

        Claimed ``CLAIM`` at a time in one transaction (``FOR UPDATE SKIP LOCKED``: other
        claimers take other rows), each fired in its own savepoint: a timer whose step
        the definition refuses (an action failing) is marked ``failed`` and logged
        without undoing the others; any other error rolls the batch back, pending for
        the next turn. One commit per batch, not per timer, is what keeps a backlog
        short. Instances are locked in id order, so two claimers never deadlock."""
        fired = 0
        while fired < limit:
            async with self.store.uow() as uow:
                due = (
                    await uow.session.execute(
                        select(Timer.__table__)
                        .where(Timer.status == "pending", Timer.due_at <= self.clock())
                        .order_by(Timer.due_at)
                        .limit(min(CLAIM, limit - fired))
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not due:
                    break
                for timer in sorted(due, key=lambda t: (t.instance_id, t.due_at)):
                    if timer.kind != "transition":  # notices only: nothing to refuse
                        fired += await self._fire(uow, timer)
                        continue
                    try:
                        async with uow.savepoint():
                            fired += await self._fire(uow, timer)
                    except AppError as exc:
                        log.warning(
                            "workflow.timer_failed", timer_id=str(timer.id), error=exc.detail
                        )
                        await uow.session.execute(
                            update(Timer).where(Timer.id == timer.id).values(status="failed")
                        )
                await uow.commit()
            if len(due) < CLAIM:
                break
        return fired

    async def next_due(self) -> datetime | None:
        """When the earliest pending timer is due (the partial index answers)."""
        due: datetime | None = await self.store.scalar(
            select(func.min(Timer.due_at)).where(Timer.status == "pending")
        )
        return due

    async def _fire(self, uow: UnitOfWork, timer: Any) -> int:
        now = self.clock()
        instance = (
            await uow.session.execute(
                select(Instance.__table__).where(Instance.id == timer.instance_id).with_for_update()
            )
        ).first()
        stale = (
            instance is None
            or instance.status != "active"
            or instance.state != timer.state
            or instance.version != timer.entered_version
        )
        await uow.session.execute(
            update(Timer)
            .where(Timer.id == timer.id)
            .values(status="cancelled" if stale else "fired", fired_at=None if stale else now)
        )
        if stale or instance is None:
            return 0
        spec: dict[str, Any] = timer.spec
        percent = int(spec["at"])
        metrics.TIMERS_FIRED.labels(timer.kind).inc()
        metrics.TIMER_LATENESS.observe(max(0.0, (now - timer.due_at).total_seconds()))
        if percent >= 100:
            metrics.sla_breach(uow, instance.workflow_key)
        if timer.kind in ("remind", "escalate"):
            self.instances.add_effect(
                uow, instance, "notify", await self._notice(uow, instance, timer, percent)
            )
        elif timer.kind == "transition":
            definition = await self.instances.definition(instance.definition_id)
            transition = definition.transitions[spec["transition"]]
            await self.instances.take_in(
                uow,
                instance,
                definition,
                transition,
                Actor(actor_type="timer"),
                {"timerId": str(timer.id), "slaPercent": percent},
            )
        uow.publish(
            SlaStepReached(
                instance_id=instance.id,
                workflow_key=instance.workflow_key,
                workflow_version=instance.workflow_version,
                document_id=instance.document_id,
                organisation_id=instance.organisation_id,
                state=timer.state,
                kind=timer.kind,
                percent=percent,
            )
        )
        return 1

    async def _notice(
        self, uow: UnitOfWork, instance: Any, timer: Any, percent: int
    ) -> dict[str, Any]:
        """Who a reminder (the state's open tasks' assignees or candidates, else the
        starter) or an escalation (the step's roles) goes to, and what it says."""
        spec: dict[str, Any] = timer.spec
        to: dict[str, Any]
        if timer.kind == "escalate":
            to = {"roles": list(spec.get("roles", [])), "topics": list(spec.get("topics", []))}
            title = f"Escalated: {instance.workflow_key} is over its time in {timer.state}"
        else:
            tasks = (
                await uow.session.execute(
                    select(Task.assignee_id, Task.candidate_roles).where(
                        Task.instance_id == instance.id, Task.state.in_(("open", "claimed"))
                    )
                )
            ).all()
            users = sorted({str(t.assignee_id) for t in tasks if t.assignee_id})
            roles = sorted({r for t in tasks if not t.assignee_id for r in t.candidate_roles})
            to = {"userIds": users, "roles": roles}
            if not users and not roles:
                to = {"starter": True}
            title = f"Reminder: {instance.workflow_key} is waiting in {timer.state}"
        payload = spec.get("payload") or {
            "title": title,
            "text": f"{percent} % of the time allowed in {timer.state!r} has passed.",
        }
        return {
            "templateKey": spec.get("templateKey", DEFAULT_TEMPLATE),
            "to": to,
            "payload": payload,
        }
