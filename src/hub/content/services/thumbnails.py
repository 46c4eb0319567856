"""Thumbnails of versions: queued with each new version, made by a background job, served
with the same read rule as the file itself.

The job (:meth:`ThumbnailService.make`) is idempotent and safe against a purge running
at the same time:

* a version already recorded, or gone (its document purged), is left alone;
* the same bytes already made into a thumbnail (a restored version, a file uploaded
  twice) reuse that outcome instead of rendering again;
* the WebP is stored in the blob store under its SHA-256 and referenced in ``blobs``
  like a version's file (``services.blobs``: advisory lock, existence re-checked), in the
  transaction that records it. That transaction first takes the document's row ``FOR
  SHARE``; a purge locks it ``FOR UPDATE`` before it reads which thumbnails to release,
  so either the purge sees the new record and releases it, or the job finds the document
  gone and records nothing (and deletes the WebP it stored unless something references
  the same bytes);
* a file that cannot be rendered is recorded as failed, once: never retried. Anything
  else (the database or the blob store unavailable) raises, so the job is retried with
  backoff and ends in the dead-letter queue (``hub jobs failed``) if it keeps failing.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.domain.thumbnails import (
    MAKE_THUMBNAIL_JOB,
    MAX_SOURCE_BYTES,
    Status,
    Unrenderable,
    no_thumbnail,
    previewable,
    thumbnail_failed,
    thumbnail_not_ready,
)
from hub.content.models import Document, VersionThumbnail
from hub.content.repositories import documents, thumbnails
from hub.content.repositories.blobs.base import BlobMissing, BlobStore, StoredBlob
from hub.content.services.blobs import Blobs
from hub.content.services.downloads import DownloadService
from hub.content.services.rendering import Rendered, render
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.security import Principal
from hub.kernel.store import Store

log = structlog.get_logger("hub.content.thumbnails")

d = Document.__table__
t = VersionThumbnail.__table__

#: ``rt.queue_job``: ``(uow, job name, *json args)``.
QueueJob = Callable[..., uuid.UUID]


@dataclass(frozen=True)
class ThumbnailRequests:
    """Asks for the thumbnail of a new version, in the unit of work that adds it (so a
    rolled-back upload queues nothing). Types without a preview queue nothing."""

    queue_job: QueueJob

    def request(
        self, uow: UnitOfWork, document_id: uuid.UUID, version: int, media_type: str
    ) -> None:
        if previewable(media_type):
            self.queue_job(uow, MAKE_THUMBNAIL_JOB, str(document_id), version)


async def thumbnail_blobs(session: AsyncSession, document_id: uuid.UUID) -> Counter[str]:
    """The thumbnail blobs a document's versions reference (for a purge to release),
    read in the purge's transaction after it locked the document."""
    rows = await session.execute(
        select(t.c.sha256).where(t.c.document_id == document_id, t.c.sha256.is_not(None))
    )
    return Counter(row.sha256 for row in rows)


@dataclass(frozen=True)
class ThumbnailFile:
    """A ready thumbnail: its WebP blob."""

    sha256: str
    size: int


@dataclass(frozen=True)
class _Outcome:
    status: Status
    #: The WebP blob of a ready thumbnail.
    blob: StoredBlob | None = None
    #: True when this run stored ``blob`` (to delete again if it is not recorded).
    fresh: bool = False
    error: str | None = None


class ThumbnailService:
    def __init__(
        self,
        store: Store,
        downloads: DownloadService,
        files: BlobStore,
        blobs: Blobs,
        clock: Clock,
        requests: ThumbnailRequests,
    ) -> None:
        self.store = store
        self.downloads = downloads
        self.files = files
        self.blobs = blobs
        self.clock = clock
        self.requests = requests

    # ------------------------------------------------------------------ serving

    async def find(
        self, principal: Principal, document_id: uuid.UUID, version: int | None
    ) -> ThumbnailFile:
        """The thumbnail of the version asked for (default: the current one), under the
        download's rule (same 404s); 404 ``no_thumbnail``, ``thumbnail_not_ready`` or
        ``thumbnail_failed`` when there is none to serve."""
        found = await self.downloads.find(principal, document_id, version)
        if not previewable(found.media_type):
            raise no_thumbnail(found.media_type)
        row = await thumbnails.thumbnail(self.store, found.document_id, found.version)
        if row is None:
            raise thumbnail_not_ready()
        if row.status != Status.READY:
            raise thumbnail_failed()
        await self.downloads.record_preview(found)
        return ThumbnailFile(sha256=row.sha256, size=row.size)

    async def read(self, thumbnail: ThumbnailFile) -> bytes:
        """The WebP bytes (a few KiB: served whole)."""
        return b"".join([chunk async for chunk in self.files.read(thumbnail.sha256)])

    # ------------------------------------------------------------------ making

    async def backfill(self, batch: int = 500) -> int:
        """Queue the job of every previewable version without a record (``hub
        thumbnails backfill``); returns how many. Safe to run again, and while jobs run:
        a job finding its version recorded does nothing."""
        queued = 0
        after: tuple[uuid.UUID, int] | None = None
        while versions := await thumbnails.missing(self.store, after, batch):
            async with self.store.uow() as uow:
                for document_id, number in versions:
                    self.requests.queue_job(uow, MAKE_THUMBNAIL_JOB, str(document_id), number)
                await uow.commit()
            queued += len(versions)
            after = versions[-1]
        return queued

    async def make(self, document_id: uuid.UUID, number: int) -> Status | None:
        """The job: render, store and record version ``number``'s thumbnail. Returns the
        recorded status, or None when there was nothing to do."""
        source = await documents.version(self.store, document_id, number)
        if source is None or not previewable(source.media_type):
            return None  # purged (or never there), or a type without a preview
        if await thumbnails.thumbnail(self.store, document_id, number) is not None:
            return None  # already made: a redelivery
        try:
            outcome = await self._outcome(source)
        except BlobMissing:
            if await documents.version(self.store, document_id, number) is None:
                return None  # purged while it was being read
            raise
        fresh = outcome.blob if outcome.fresh else None
        try:
            recorded = await self._record(document_id, number, outcome)
        except BaseException:
            await self.blobs.forget(fresh)
            raise
        if not recorded:
            await self.blobs.forget(fresh)
            return None
        log.info(
            "thumbnail_made",
            document_id=str(document_id),
            version=number,
            status=outcome.status.value,
            error=outcome.error,
        )
        return outcome.status

    async def _outcome(self, source: Any) -> _Outcome:
        same = await thumbnails.made_for_same_file(self.store, source.sha256, source.media_type)
        if same is not None:
            if same.status == Status.READY:
                blob = StoredBlob(sha256=same.sha256, size=same.size, created=False)
                return _Outcome(Status.READY, blob=blob)
            return _Outcome(Status.FAILED, error=same.error)
        try:
            rendered = await self._render(source)
        except Unrenderable as exc:
            return _Outcome(Status.FAILED, error=str(exc)[:500])
        blob = await self.files.put(_once(rendered.data))
        return _Outcome(Status.READY, blob=blob, fresh=True)

    async def _render(self, source: Any) -> Rendered:
        """Spool the file to a temporary file (memory stays bounded whatever its size),
        then render it in a worker thread."""
        if source.size > MAX_SOURCE_BYTES:
            raise Unrenderable(f"{source.size} bytes is more than {MAX_SOURCE_BYTES}")
        spool = await asyncio.to_thread(tempfile.TemporaryFile)
        try:
            async for chunk in self.files.read(source.sha256):
                await asyncio.to_thread(spool.write, chunk)
            await asyncio.to_thread(spool.seek, 0)
            media_type: str = source.media_type
            return await asyncio.to_thread(render, spool, media_type)
        finally:
            await asyncio.shield(asyncio.to_thread(spool.close))

    async def _record(self, document_id: uuid.UUID, number: int, outcome: _Outcome) -> bool:
        """Record the outcome (and reference its blob) unless the document is gone or the
        thumbnail was recorded meanwhile; whether it was."""
        async with self.store.uow() as uow:
            session = uow.session
            alive = (
                await session.execute(
                    select(d.c.id).where(d.c.id == document_id).with_for_update(read=True)
                )
            ).first()
            if alive is None:
                return False
            if outcome.blob is not None:
                await self.blobs.reference(session, outcome.blob)
            inserted = await session.execute(
                insert(VersionThumbnail)
                .values(
                    document_id=document_id,
                    version=number,
                    status=outcome.status.value,
                    sha256=outcome.blob.sha256 if outcome.blob is not None else None,
                    error=outcome.error,
                    created_at=self.clock(),
                )
                .on_conflict_do_nothing()
                .returning(t.c.version)
            )
            if inserted.first() is None:
                return False  # recorded by a concurrent run: roll the reference back
            await uow.commit()
        return True


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
