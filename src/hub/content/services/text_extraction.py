"""Text extraction of versions: requested with every new version (upload, new version,
restore), run by the ``content.extract_text`` job in a killable child process
(``services.extraction.sandbox``), stored in ``content.version_texts``.

A version's status starts ``pending`` and settles as ``ready`` (text stored),
``unsupported`` (a type no extractor reads), ``ocr_unavailable`` (an image or a scanned
PDF, and no Tesseract) or ``failed``. A failure that retrying cannot change (a bomb, a
corrupt file) is ``failed`` at once and the job goes to the dead-letter queue; any other
(a time-out, a crash) is retried with backoff and is ``failed`` only when the last retry
fails. The document's ``extraction`` is its current version's status. A restored version
reuses the text of the version whose bytes it restored.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Row, and_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import TextExtracted
from hub.content.domain.extraction import (
    FAILED,
    PENDING,
    READY,
    SETTLED,
    UNSUPPORTED,
    extractor_for,
    fingerprint,
)
from hub.content.models import Document, VersionText
from hub.content.repositories import extraction
from hub.content.repositories.blobs.base import BlobStore
from hub.content.services import duplicates
from hub.content.services.barcode_metadata import BarcodeRules, apply_barcodes
from hub.content.services.extraction.sandbox import Extracted, ExtractionFailed, run
from hub.content.services.matching import apply_matching
from hub.content.services.search_index import SearchIndex
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.store import Store

log = structlog.get_logger("hub.content.extraction")

d = Document.__table__
vt = VersionText.__table__

#: The job (``tasks.extract_text``) every new version queues.
EXTRACT_JOB = "content.extract_text"
#: Retries of a failure that may pass (a time-out, a crash) before it is ``failed``.
EXTRACT_RETRIES = 2


class PermanentExtractionError(Exception):
    """A file extraction refuses for good: straight to the dead-letter queue."""


@dataclass(frozen=True)
class ExtractionRequests:
    """Queues extraction of a new version inside the unit of work that creates it."""

    queue_job: Callable[..., Any]

    async def request(self, uow: UnitOfWork, document_id: uuid.UUID, version: int) -> None:
        """Mark the version (and its document) ``pending``, forget the document's old
        fingerprint, and queue the job (sent only if ``uow`` commits)."""
        session = uow.session
        await session.execute(
            insert(VersionText)
            .values(document_id=document_id, version=version, status=PENDING)
            .on_conflict_do_nothing()
        )
        await session.execute(
            update(Document).where(d.c.id == document_id).values(extraction_status=PENDING)
        )
        await duplicates.forget(session, document_id)
        self.queue_job(uow, EXTRACT_JOB, str(document_id), version)


class TextExtraction:
    def __init__(
        self,
        store: Store,
        files: BlobStore,
        clock: Clock,
        requests: ExtractionRequests,
        *,
        timeout_seconds: int,
        memory_mb: int,
        languages: str,
        barcodes: BarcodeRules | None = None,
    ) -> None:
        self.store = store
        self.files = files
        self.clock = clock
        self.requests = requests
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.languages = languages
        #: Whether (and how) barcodes of new scans are read; None: they are not.
        self.barcodes = barcodes

    async def extract(self, document_id: uuid.UUID, version: int, *, last_try: bool) -> str:
        """Run (or rerun) the extraction of one version; returns its settled status.
        Idempotent: a settled version is left alone, a gone one ignored."""
        row = await extraction.target(self.store, document_id, version)
        if row is None:
            return "gone"
        if row.status in SETTLED:
            return str(row.status)
        twin = await extraction.settled_twin(self.store, document_id, row.sha256, version)
        if twin is not None:
            found = Extracted(
                status=twin.status,
                text=twin.text or "",
                truncated=twin.truncated,
                ocr=twin.ocr,
            )
            await self._settle(row, found)
            return str(found.status)
        if extractor_for(row.media_type) is None:  # no need to start a child to know that
            await self._settle(row, Extracted(UNSUPPORTED, "", False, False))
            return UNSUPPORTED
        try:
            found = await self._run(row)
        except ExtractionFailed as exc:
            log.warning(
                "content_extraction_failed",
                document_id=str(document_id),
                version=version,
                code=exc.code,
                detail=exc.detail,
                final=exc.permanent or last_try,
            )
            if exc.permanent or last_try:
                await self._failed(row, exc.code)
            if exc.permanent:
                raise PermanentExtractionError(str(exc)) from None
            raise
        except Exception:  # the blob store, the database: retried, failed at the last try
            if last_try:
                await self._failed(row, "error")
            raise
        await self._settle(row, found)
        return found.status

    async def requeue(self, *, limit: int) -> int:
        """Queue extraction again for current versions of untrashed documents that have
        none settled (made before extraction existed, or ``failed``): ``hub documents
        extract``. Returns how many were queued."""
        async with self.store.uow() as uow:
            rows = (await uow.session.execute(extraction.unsettled_statement(limit))).all()
            for row in rows:
                await self.requests.request(uow, row.document_id, row.version)
            await uow.commit()
        return len(rows)

    async def _run(self, row: Row[Any]) -> Extracted:
        with tempfile.TemporaryDirectory(prefix="hub-extract-") as folder:
            path = Path(folder) / "file"
            with path.open("wb") as out:
                async for chunk in self.files.read(row.sha256):
                    out.write(chunk)
            return await asyncio.to_thread(
                run,
                path,
                row.media_type,
                timeout_seconds=self.timeout_seconds,
                memory_mb=self.memory_mb,
                languages=self.languages,
                barcode_pages=self.barcodes.pages if self.barcodes else 0,
            )

    async def _current(self, session: AsyncSession, row: Row[Any]) -> bool:
        """Lock the document; whether the version is still its current one."""
        current = (
            await session.execute(
                select(d.c.current_version).where(d.c.id == row.document_id).with_for_update()
            )
        ).scalar_one_or_none()
        return bool(current == row.version)

    async def _settle(self, row: Row[Any], found: Extracted) -> None:
        text = found.text if found.text or found.status != "ready" else ""
        async with self.store.uow() as uow:
            session = uow.session
            is_current = await self._current(session, row)
            await _ensure_row(session, row)
            await session.execute(
                update(VersionText)
                .where(and_(vt.c.document_id == row.document_id, vt.c.version == row.version))
                .values(
                    status=found.status,
                    text=text or None,
                    truncated=found.truncated,
                    ocr=found.ocr,
                    error=None,
                    extracted_at=self.clock(),
                )
            )
            near = 0
            if is_current:
                await session.execute(
                    update(Document)
                    .where(d.c.id == row.document_id)
                    .values(extraction_status=found.status)
                )
                # computed here, off the event loop, not in the extraction child
                signature = await asyncio.to_thread(fingerprint, text) if text else None
                near = await duplicates.fingerprinted(
                    session, row.document_id, row.organisation_id, row.version, signature
                )
                # its text is searchable from this commit on (weight C, snippets)
                await SearchIndex.set_text(uow, row.document_id)
                if row.version == 1 and found.barcodes and self.barcodes:
                    await apply_barcodes(
                        uow,
                        self.clock,
                        self.barcodes,
                        row.document_id,
                        row.organisation_id,
                        [text for _, text in found.barcodes],
                    )
                if row.version == 1 and found.status == READY and text:
                    await apply_matching(
                        uow, self.clock, row.document_id, row.organisation_id, text
                    )
            uow.publish(
                TextExtracted(
                    document_id=row.document_id,
                    organisation_id=row.organisation_id,
                    version=row.version,
                    status=found.status,
                )
            )
            await uow.commit()
        log.info(
            "content_text_extracted",
            document_id=str(row.document_id),
            version=row.version,
            status=found.status,
            chars=len(text),
            near_duplicates=near,
        )

    async def _failed(self, row: Row[Any], code: str) -> None:
        async with self.store.uow() as uow:
            session = uow.session
            is_current = await self._current(session, row)
            await _ensure_row(session, row)
            await session.execute(
                update(VersionText)
                .where(and_(vt.c.document_id == row.document_id, vt.c.version == row.version))
                .values(status=FAILED, text=None, error=code, extracted_at=self.clock())
            )
            if is_current:
                await session.execute(
                    update(Document)
                    .where(d.c.id == row.document_id)
                    .values(extraction_status=FAILED)
                )
            uow.publish(
                TextExtracted(
                    document_id=row.document_id,
                    organisation_id=row.organisation_id,
                    version=row.version,
                    status=FAILED,
                )
            )
            await uow.commit()


async def _ensure_row(session: AsyncSession, row: Row[Any]) -> None:
    """A version made before extraction existed has no row yet."""
    await session.execute(
        insert(VersionText)
        .values(document_id=row.document_id, version=row.version, status=PENDING)
        .on_conflict_do_nothing()
    )
