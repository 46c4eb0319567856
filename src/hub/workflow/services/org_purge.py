"""Deleting a purged organisation's workflow data (``identity.organisation_purged``):
definitions, instances with their history, tasks, votes, timers and effects, trigger
timers, delegations, and document intelligence's rows (classifier states and models,
vectors, labels, feedback, auto-applications; pgvector embeddings where they exist),
every table of the ``workflow`` schema with an ``organisation_id``, in batches of their
own transactions; then workflow's already-relayed outbox rows about it. Idempotent: a
second run finds nothing left."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog

from hub.kernel.db import UnitOfWork
from hub.kernel.org_purge import DEFAULT_BATCH, delete_organisation_rows, forget_published_events
from hub.kernel.store import Store
from hub.workflow.models import Base

log = structlog.get_logger("hub.workflow.org_purge")


@dataclass(eq=False)
class WorkflowOrgPurge:
    store: Store
    batch: int = DEFAULT_BATCH

    async def purge(self, uow: UnitOfWork, organisation_id: uuid.UUID) -> dict[str, int]:
        deleted = await delete_organisation_rows(
            self.store, Base.metadata, organisation_id, batch=self.batch
        )
        await forget_published_events(uow, "workflow", organisation_id)
        log.info(
            "organisation_workflow_purged",
            organisation_id=str(organisation_id),
            **{name.replace(".", "_"): count for name, count in deleted.items()},
        )
        return deleted
