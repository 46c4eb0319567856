"""Deleting a purged organisation's communication data (``identity.organisation_purged``):
notifications with their deliveries, inbox items and digests, conversations with their
messages and participants, templates, notification channels, webhook endpoints with their
deliveries, the organisation's settings (every table with an ``organisation_id``), in
batches of their own transactions; then communication's already-relayed outbox rows about
it. Idempotent: a second run finds nothing left."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog

from hub.communication.models import Base
from hub.kernel.db import UnitOfWork
from hub.kernel.org_purge import DEFAULT_BATCH, delete_organisation_rows, forget_published_events
from hub.kernel.store import Store

log = structlog.get_logger("hub.communication.org_purge")


@dataclass(eq=False)
class CommunicationOrgPurge:
    store: Store
    batch: int = DEFAULT_BATCH

    async def purge(self, uow: UnitOfWork, organisation_id: uuid.UUID) -> dict[str, int]:
        deleted = await delete_organisation_rows(
            self.store, Base.metadata, organisation_id, batch=self.batch
        )
        await forget_published_events(uow, "communication", organisation_id)
        log.info(
            "organisation_communication_purged",
            organisation_id=str(organisation_id),
            **{name.replace(".", "_"): count for name, count in deleted.items()},
        )
        return deleted
