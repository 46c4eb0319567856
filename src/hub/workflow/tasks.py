"""Workflow's jobs; services arrive by keyword-only parameter name."""

from __future__ import annotations

import uuid

from hub.kernel.jobs import JobContext, job
from hub.kernel.scheduler import Periodic
from hub.workflow.services.effects import RUN_EFFECT, EffectRunner
from hub.workflow.services.timers import FIRE_TIMERS, TimerService


@job(RUN_EFFECT, max_retries=5)
async def run_effect(ctx: JobContext, effect_id: str, *, workflow_effects: EffectRunner) -> None:
    await workflow_effects.run(uuid.UUID(effect_id))


@job(FIRE_TIMERS, max_retries=0)
async def fire_timers(ctx: JobContext, *, workflow_timers: TimerService) -> None:
    await workflow_timers.fire_due()


#: Every second: a timer fires at most about a second (plus queueing) after it is due.
FIRE_TIMERS_EVERY_SECOND = Periodic(FIRE_TIMERS, "* * * * * *", fire_timers)
