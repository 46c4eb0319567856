"""Workflow's jobs and loops; services arrive by keyword-only parameter name."""

from __future__ import annotations

import asyncio
import uuid

from hub.kernel.jobs import JobContext, job
from hub.kernel.loops import Loop
from hub.kernel.scheduler import Periodic
from hub.workflow.services.effects import RUN_EFFECT, EffectRunner
from hub.workflow.services.instances import DELIVER_MESSAGE
from hub.workflow.services.messages import MessageService
from hub.workflow.services.timer_loop import TimerLoop


@job(RUN_EFFECT, max_retries=5)
async def run_effect(ctx: JobContext, effect_id: str, *, workflow_effects: EffectRunner) -> None:
    await workflow_effects.run(uuid.UUID(effect_id))


@job(DELIVER_MESSAGE, max_retries=5)
async def deliver_kept_message(
    ctx: JobContext, instance_id: str, *, workflow_messages: MessageService
) -> None:
    """An instance came to wait for messages: the kept one that matches it takes its step
    (retried when the instance moved meanwhile)."""
    await workflow_messages.deliver_kept(uuid.UUID(instance_id))


@job("workflow.purge_kept_messages", max_retries=3)
async def purge_kept_messages(ctx: JobContext, *, workflow_messages: MessageService) -> None:
    await workflow_messages.purge_expired()


PURGE_KEPT_MESSAGES_DAILY = Periodic(
    "workflow.purge_kept_messages", "20 4 * * *", purge_kept_messages
)


async def run_timer_loop(stop: asyncio.Event, *, workflow_timer_loop: TimerLoop) -> None:
    await workflow_timer_loop.run(stop)


#: Durable timers fire from this loop (every worker process with a scheduler), not from a
#: periodic job: a slot a second would leave 600,000 claim keys a week in Redis.
TIMER_LOOP = Loop("workflow.timers", run_timer_loop)
