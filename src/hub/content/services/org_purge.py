"""Deleting a purged organisation's content (``identity.organisation_purged``).

Documents go in batches, each batch in its own transaction, like the trash's purge:
their rows (versions, texts, thumbnails, shares, links, notes, tags, fingerprints and
search rows cascade from the document) and their blob references; each blob no other
version references any more (blobs are shared by hash across organisations) is then
deleted from the store, filesystem or S3 (``services.blobs``). Then every other table
with an ``organisation_id`` (tags, document types, custom fields, settings, storage
usage) and content's already-relayed outbox rows about the organisation.

The audit trail is **kept**: the organisation's chain (entries, head, checkpoints) stays
under ``HUB_AUDIT_RETENTION_DAYS`` like every chain, since deleting entries would defeat
an append-only, tamper-evident log (its trigger refuses it) and the purge is exactly
the kind of event a practice must be able to show later. The purge itself is an entry
of the platform chain. So ``GET /audit/verify`` keeps passing for every chain, and the
purged organisation's chain stays verifiable by a platform administrator
(``hub audit verify --organisation ID``) until retention drops its months.

Idempotent: a second run (a redelivered event) finds nothing left to delete.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, select, update

from hub.content.models import Base, Document, DocumentVersion, Tag, VersionThumbnail
from hub.content.services.blobs import Blobs
from hub.kernel.db import UnitOfWork
from hub.kernel.org_purge import DEFAULT_BATCH, delete_organisation_rows, forget_published_events
from hub.kernel.store import Store

log = structlog.get_logger("hub.content.org_purge")

d = Document.__table__
v = DocumentVersion.__table__
t = VersionThumbnail.__table__
tags = Tag.__table__

#: Kept by retention, never deleted here (see the module's docstring).
KEPT = frozenset({"content.audit_entries"})


@dataclass(eq=False)
class ContentOrgPurge:
    store: Store
    blobs: Blobs
    #: Documents per transaction (their versions, texts and the rest cascade with them).
    batch: int = 200
    #: Rows of the other tables per transaction.
    row_batch: int = DEFAULT_BATCH

    async def purge(self, uow: UnitOfWork, organisation_id: uuid.UUID) -> dict[str, int]:
        """Delete every content row of the organisation (audit trail excepted) and the
        blobs only it referenced; returns the rows deleted per table."""
        documents, blobs = 0, 0
        while True:
            done, released = await self._documents(organisation_id)
            documents += done
            for sha256 in sorted(released):
                blobs += await self.blobs.collect(sha256)
            if done < self.batch:
                break
        async with self.store.uow() as own:
            # tags.parent_id is RESTRICT: unhook the tree so batches may cut through it.
            await own.session.execute(
                update(Tag)
                .where(tags.c.organisation_id == organisation_id, tags.c.parent_id.is_not(None))
                .values(parent_id=None)
            )
            await own.commit()
        deleted = await delete_organisation_rows(
            self.store, Base.metadata, organisation_id, keep=KEPT, batch=self.row_batch
        )
        if documents:
            deleted["content.documents"] = documents
        await forget_published_events(uow, "content", organisation_id)
        log.info(
            "organisation_content_purged",
            organisation_id=str(organisation_id),
            blobs_deleted=blobs,
            **{name.replace(".", "_"): count for name, count in deleted.items()},
        )
        return deleted

    async def _documents(self, organisation_id: uuid.UUID) -> tuple[int, Counter[str]]:
        """One batch of the organisation's documents deleted with their blob references
        released; answers how many, and the blobs to collect once committed."""
        async with self.store.uow() as uow:
            session = uow.session
            ids = list(
                await session.scalars(
                    select(d.c.id)
                    .where(d.c.organisation_id == organisation_id)
                    .order_by(d.c.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return 0, Counter()
            references: Counter[str] = Counter()
            for row in await session.execute(select(v.c.sha256).where(v.c.document_id.in_(ids))):
                references[row.sha256] += 1
            for row in await session.execute(
                select(t.c.sha256).where(t.c.document_id.in_(ids), t.c.sha256.is_not(None))
            ):
                references[row.sha256] += 1
            await session.execute(delete(Document).where(d.c.id.in_(ids)))
            for sha256 in sorted(references):
                await self.blobs.release(session, sha256, references[sha256])
            await uow.commit()
        return len(ids), references
