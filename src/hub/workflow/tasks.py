"""Workflow's jobs; services arrive by keyword-only parameter name."""

from __future__ import annotations

import uuid

from hub.kernel.jobs import JobContext, job
from hub.workflow.services.effects import RUN_EFFECT, EffectRunner


@job(RUN_EFFECT, max_retries=5)
async def run_effect(ctx: JobContext, effect_id: str, *, workflow_effects: EffectRunner) -> None:
    await workflow_effects.run(uuid.UUID(effect_id))
