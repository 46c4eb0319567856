"""The training job (queued by ``POST /orgs/{orgId}/classifier/train``)."""

from __future__ import annotations

import uuid

import structlog

from hub.kernel.jobs import JobContext, job
from hub.kernel.scheduler import Periodic
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


log = structlog.get_logger("hub.workflow.intelligence")


@job("workflow.retrain_changed_classifiers", max_retries=3)
async def retrain_changed(ctx: JobContext, *, classifier: ClassifierService) -> None:
    """Hourly: retrain the classifiers whose labels people changed since the last request."""
    queued = await classifier.retrain_changed()
    if queued:
        log.info("classifier_retraining_queued", organisations=len(queued))


RETRAIN_HOURLY = Periodic("workflow.retrain_changed_classifiers", "17 * * * *", retrain_changed)
