"""The training job (queued by ``POST /orgs/{orgId}/classifier/train``)."""

from __future__ import annotations

import uuid

from hub.kernel.jobs import JobContext, job
from hub.workflow.intelligence.services.classifier import (
    TRAIN_JOB,
    ClassifierService,
    mark_failed,
)


@job(TRAIN_JOB, max_retries=1, time_limit_ms=15 * 60 * 1000)
async def train_classifier(
    ctx: JobContext, organisation_id: str, *, classifier: ClassifierService
) -> None:
    """Trains in a worker thread (the CPU part never runs on the event loop)."""
    org = uuid.UUID(organisation_id)
    try:
        await classifier.run(org)
    except Exception as exc:
        await mark_failed(classifier.store, org, f"{type(exc).__name__}: {exc}")
        raise
