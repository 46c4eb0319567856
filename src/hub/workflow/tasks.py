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


#: Every 5 seconds: a timer fires at most about 5 s (plus queueing) after it is due. Each
#: slot leaves a claim key in Redis for a week (``hub.kernel.scheduler``), which is what
#: keeps this from running every second (600,000 keys a week).
FIRE_TIMERS_EVERY_5_SECONDS = Periodic(FIRE_TIMERS, "* * * * * */5", fire_timers)
