"""Blob references and their safe deletion.

A version references its blob by SHA-256; ``content.blobs`` counts the references, updated
in the same transaction as the versions. A blob is deleted only when nothing references it,
and never from under an upload of the same bytes:

* every transaction that takes a reference (:meth:`Blobs.reference`) or deletes a blob
  (:meth:`Blobs.collect`) first takes a transaction-scoped advisory lock on the hash, so
  they run one after the other for one blob;
* a collection deletes the bytes *before* it commits the row's deletion, while holding
  that lock;
* a reference checks that the bytes are still in the store after taking the lock. An
  upload that found its bytes already stored (so wrote nothing) and lost the race against
  a collection sees them gone and answers 503 ``upload_interrupted`` (retry): nothing ever
  references a missing blob.
"""

from __future__ import annotations

import structlog
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.models import Blob
from hub.content.repositories.blobs.base import BlobStore, StoredBlob
from hub.kernel.clock import Clock
from hub.kernel.errors import AppError
from hub.kernel.store import Store

log = structlog.get_logger("hub.content.blobs")

b = Blob.__table__
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:sha256, 0))")


class UploadInterrupted(AppError):
    status_code = 503
    code = "upload_interrupted"


async def lock_blob(session: AsyncSession, sha256: str) -> None:
    await session.execute(_LOCK, {"sha256": sha256})


class Blobs:
    def __init__(self, store: Store, files: BlobStore, clock: Clock) -> None:
        self.store = store
        self.files = files
        self.clock = clock

    async def reference(self, session: AsyncSession, blob: StoredBlob) -> None:
        """One more version references ``blob`` (inside the caller's transaction)."""
        await lock_blob(session, blob.sha256)
        now = self.clock()
        upsert = insert(Blob).values(
            sha256=blob.sha256, size=blob.size, ref_count=1, last_referenced_at=now
        )
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=[b.c.sha256],
                set_={"ref_count": b.c.ref_count + 1, "last_referenced_at": now},
            )
        )
        if await self.files.size(blob.sha256) is None:
            raise UploadInterrupted(
                "The upload met a clean-up of the same file; send it again.",
                headers={"Retry-After": "1"},
            )

    async def release(self, session: AsyncSession, sha256: str, count: int = 1) -> None:
        """``count`` fewer versions reference the blob (collected later, once at zero)."""
        await lock_blob(session, sha256)
        await session.execute(
            update(Blob).where(b.c.sha256 == sha256).values(ref_count=b.c.ref_count - count)
        )

    async def collect(self, sha256: str) -> bool:
        """Delete the blob if no version references it (no row, or a count of zero).
        Returns whether it was deleted."""
        async with self.store.uow() as uow:
            session = uow.session
            await lock_blob(session, sha256)
            row = (
                await session.execute(
                    select(b.c.ref_count).where(b.c.sha256 == sha256).with_for_update()
                )
            ).first()
            if row is not None and row.ref_count > 0:
                return False
            await self.files.delete(sha256)
            await session.execute(delete(Blob).where(b.c.sha256 == sha256))
            await uow.commit()
        log.info("blob_deleted", sha256=sha256)
        return True

    async def forget(self, blob: StoredBlob | None) -> None:
        """After a failed upload: delete what it stored unless something references it."""
        if blob is None:
            return
        try:
            await self.collect(blob.sha256)
        except Exception:
            # The periodic sweep cannot find a file without a row: log it for an operator.
            log.exception("orphan_blob_not_deleted", sha256=blob.sha256)

    async def collect_unreferenced(self, limit: int = 1000) -> int:
        """Delete every blob whose count reached zero (after purges); returns how many."""
        rows = await self.store.all(
            select(b.c.sha256).where(b.c.ref_count == 0).order_by(b.c.sha256).limit(limit)
        )
        deleted = 0
        for row in rows:
            deleted += await self.collect(row.sha256)
        return deleted
