"""Serving a version's file: which version, whether the caller may, and the audit event.

The HTTP side (ETag, conditional requests, ranges, disposition) is the controller's; this
decides what is served and records that it was.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from hub.content.api import DocumentDownloaded
from hub.content.repositories import documents
from hub.content.repositories.blobs.base import BlobStore
from hub.content.services.access import DocumentAccess
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.store import Store


@dataclass(frozen=True)
class Download:
    document_id: uuid.UUID
    organisation_id: uuid.UUID
    version: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    #: The document's type audits every read (a preview is then recorded too).
    audit_reads: bool = False
    #: When the version was stored (a zip entry's date).
    created_at: datetime | None = None


class DownloadService:
    def __init__(self, store: Store, access: DocumentAccess, files: BlobStore) -> None:
        self.store = store
        self.access = access
        self.files = files

    async def find(
        self, principal: Principal, document_id: uuid.UUID, version: int | None
    ) -> Download:
        """The version asked for (default: the current one) of a document the caller may
        read; 404 for an unknown version."""
        opened = await self.access.open(principal, document_id)
        number = opened.row.current_version if version is None else version
        row = await documents.version(self.store, opened.id, number)
        if row is None:
            raise field_invalid(
                "version",
                f"The document has no version {number}.",
                source="query",
                status_code=404,
                code="not_found",
            )
        return Download(
            document_id=opened.id,
            organisation_id=opened.row.organisation_id,
            version=number,
            file_name=row.file_name,
            media_type=row.media_type,
            size=row.size,
            sha256=row.sha256,
            audit_reads=opened.audit_reads,
            created_at=row.created_at,
        )

    async def record(self, *downloads: Download) -> None:
        """Publish ``content.document.downloaded`` for each, in one transaction
        (committed before the bytes leave)."""
        async with self.store.uow() as uow:
            for download in downloads:
                uow.publish(
                    DocumentDownloaded(
                        document_id=download.document_id,
                        organisation_id=download.organisation_id,
                        version=download.version,
                    )
                )
            await uow.commit()

    async def record_preview(self, download: Download) -> None:
        """A preview of a document whose type audits reads: ``content.document.read``
        (``what: thumbnail``); nothing for other documents."""
        if download.audit_reads:
            await self.access.record_read(
                download.document_id,
                download.organisation_id,
                "thumbnail",
                version=download.version,
            )

    def read(
        self, download: Download, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        return self.files.read(download.sha256, start=start, end=end)
