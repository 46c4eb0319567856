"""The trash and retention: move to trash, restore, delete for good (by hand or by the
purge of documents trashed longer than HUB_CONTENT_TRASH_DAYS). A legal hold blocks all
three deletions. Purging releases the document's blobs (its versions' files and their
thumbnails); those no other version references are deleted once the purge has committed
(``services.blobs``)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select, update

from hub.content.api import DocumentPurged, DocumentRestored, DocumentTrashed
from hub.content.domain.access import Action
from hub.content.models import Document, DocumentVersion
from hub.content.repositories import documents
from hub.content.services.access import DocumentAccess, Opened, document_not_found
from hub.content.services.blobs import Blobs
from hub.content.services.doclinks import DocumentLinks, publish_reverse
from hub.content.services.storing import FileIntake
from hub.content.services.thumbnails import thumbnail_blobs
from hub.content.services.views import view_of
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError, Conflict
from hub.kernel.security import Principal
from hub.kernel.store import Store

log = structlog.get_logger("hub.content.trash")

d = Document.__table__
v = DocumentVersion.__table__


def under_legal_hold() -> Conflict:
    return Conflict("The document is under legal hold and cannot be deleted.", code="legal_hold")


def not_in_trash() -> Conflict:
    return Conflict("The document is not in the trash.", code="document_not_trashed")


def check_trashable(row: Any) -> None:
    """What moving a (locked) document to the trash asks of it, alone or in a bulk edit:
    no legal hold (409 ``legal_hold``)."""
    if row.legal_hold:
        raise under_legal_hold()


def check_restorable(row: Any) -> None:
    """What taking a (locked) document out of the trash asks of it: being in it (409
    ``document_not_trashed``)."""
    if row.trashed_at is None:
        raise not_in_trash()


class TrashService:
    def __init__(
        self,
        store: Store,
        access: DocumentAccess,
        blobs: Blobs,
        clock: Clock,
        trash_days: int,
        links: DocumentLinks,
    ) -> None:
        self.links = links
        self.store = store
        self.access = access
        self.blobs = blobs
        self.clock = clock
        self.trash_days = trash_days

    async def _lock(self, session: Any, document_id: uuid.UUID) -> Any:
        row = (
            await session.execute(select(d).where(d.c.id == document_id).with_for_update())
        ).first()
        if row is None:
            raise document_not_found()
        return row

    async def trash(self, principal: Principal, document_id: uuid.UUID) -> None:
        """``DELETE /documents/{id}``: into the trash (already there: nothing changes)."""
        opened = await self.access.open(principal, document_id, Action.DELETE)
        async with self.store.uow() as uow:
            await self.trash_in(uow, opened)
            await uow.commit()

    async def trash_in(self, uow: UnitOfWork, opened: Opened) -> None:
        """Into the trash within ``uow``, for a caller already allowed to delete it (the
        originals a split or merge replaces): locked, refused under legal hold (409), and
        nothing done when it is there already."""
        row = await self._lock(uow.session, opened.id)
        check_trashable(row)
        if row.trashed_at is not None:
            return
        now = self.clock()
        await uow.session.execute(
            update(Document)
            .where(d.c.id == row.id)
            .values(trashed_at=now, trashed_by=opened.caller.user_id, updated_at=now)
        )
        uow.publish(DocumentTrashed(document_id=row.id, organisation_id=row.organisation_id))

    async def restore(self, principal: Principal, document_id: uuid.UUID) -> dict[str, Any]:
        """``POST /documents/{id}/restore``: out of the trash (409 when not in it)."""
        opened = await self.access.open(principal, document_id, Action.DELETE)
        async with self.store.uow() as uow:
            row = await self._lock(uow.session, opened.id)
            check_restorable(row)
            await uow.session.execute(
                update(Document)
                .where(d.c.id == row.id)
                .values(trashed_at=None, trashed_by=None, updated_at=self.clock())
            )
            uow.publish(DocumentRestored(document_id=row.id, organisation_id=row.organisation_id))
            await uow.commit()
        return await view_of(self.store, opened.id, opened.caller)

    async def delete_permanently(self, principal: Principal, document_id: uuid.UUID) -> None:
        """``DELETE /documents/{id}/permanent``: only from the trash, never under hold."""
        opened = await self.access.open(principal, document_id, Action.DELETE)
        await self._purge(opened.id, reason="user")

    async def _purge(self, document_id: uuid.UUID, *, reason: str) -> bool:
        async with self.store.uow() as uow:
            session = uow.session
            organisation_id = await session.scalar(
                select(d.c.organisation_id).where(d.c.id == document_id)
            )
            if organisation_id is None:
                raise document_not_found()
            # first: it locks the document with those linking it, in id order
            touched = await self.links.detach(session, document_id, organisation_id)
            row = await self._lock(session, document_id)
            if row.legal_hold:
                raise under_legal_hold()
            if row.trashed_at is None:
                raise not_in_trash()
            versions = (
                await session.execute(select(v.c.sha256, v.c.size).where(v.c.document_id == row.id))
            ).all()
            thumbs = await thumbnail_blobs(session, row.id)
            await session.execute(delete(Document).where(d.c.id == row.id))
            references = Counter(version.sha256 for version in versions)
            references.update(thumbs)  # the versions' thumbnails go with them
            for sha256 in sorted(references):
                await self.blobs.release(session, sha256, references[sha256])
            await FileIntake.uncount(session, row.organisation_id, sum(x.size for x in versions))
            uow.publish(
                DocumentPurged(
                    document_id=row.id, organisation_id=row.organisation_id, reason=reason
                )
            )
            await publish_reverse(
                uow, touched, organisation_id=row.organisation_id, source=row.id, via=reason
            )
            await uow.commit()
        for sha256 in sorted(references):
            await self.blobs.collect(sha256)
        return True

    async def purge_expired(self, batch: int = 500) -> int:
        """Delete documents trashed more than ``trash_days`` ago (not under legal hold),
        then any blob left unreferenced. Idempotent: a rerun finds nothing more to do."""
        cutoff = self.clock() - timedelta(days=self.trash_days)
        purged = 0
        while True:
            due = await documents.trashed_before(self.store, cutoff, batch)
            done = 0
            for document_id in due:
                try:
                    await self._purge(document_id, reason="retention")
                    done += 1
                except AppError:
                    continue  # restored, held or purged by someone else meanwhile
            purged += done
            if len(due) < batch or not done:
                break
        swept = await self.blobs.collect_unreferenced()
        if purged or swept:
            log.info("trash_purged", documents=purged, blobs=swept)
        return purged
