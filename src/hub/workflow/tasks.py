"""Workflow's jobs and loops; services arrive by keyword-only parameter name."""

from __future__ import annotations

import asyncio
import uuid

from hub.kernel.jobs import JobContext, job
from hub.kernel.loops import Loop
from hub.workflow.services.effects import RUN_EFFECT, EffectRunner
from hub.workflow.services.timer_loop import TimerLoop


@job(RUN_EFFECT, max_retries=5)
async def run_effect(ctx: JobContext, effect_id: str, *, workflow_effects: EffectRunner) -> None:
    await workflow_effects.run(uuid.UUID(effect_id))


async def run_timer_loop(stop: asyncio.Event, *, workflow_timer_loop: TimerLoop) -> None:
    await workflow_timer_loop.run(stop)


#: Durable timers fire from this loop (every worker process with a scheduler), not from a
#: periodic job: a slot a second would leave 600,000 claim keys a week in Redis.
TIMER_LOOP = Loop("workflow.timers", run_timer_loop)
