"""Taking a file from an upload into the blob store: sniffed, checked, size-limited,
streamed (never held whole in memory), and counted against the organisation's quota."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.domain.files import SNIFF_BYTES, is_allowed, sanitise_file_name, sniff_media_type
from hub.content.domain.settings import ContentSettings
from hub.content.models import StorageUsage
from hub.content.repositories.blobs.base import BlobStore, BlobTooLarge, StoredBlob
from hub.kernel.errors import AppError
from hub.kernel.store import Store

u = StorageUsage.__table__
#: Bytes a file on disk is read in at a time.
CHUNK = 1024 * 1024


class FilePart(Protocol):
    """The file of a multipart upload, read once, in order."""

    @property
    def name(self) -> str: ...

    @property
    def file_name(self) -> str: ...

    def chunks(self) -> AsyncIterator[bytes]: ...


@dataclass(frozen=True)
class LocalFile:
    """A file the hub holds itself (a mail's attachment in memory, a file of the
    consumption folder on disk) as the upload intake reads a file part."""

    file_name: str
    source: bytes | Path
    name: str = "file"

    async def chunks(self) -> AsyncIterator[bytes]:
        if isinstance(self.source, bytes):
            yield self.source
            return
        with self.source.open("rb") as stream:
            while chunk := await asyncio.to_thread(stream.read, CHUNK):
                yield chunk


@dataclass(frozen=True)
class TextField:
    name: str
    value: str


class UploadForm(Protocol):
    """A multipart form read as it arrives: each part in turn, None after the last. A
    file part's chunks must be read before asking for the next part (or are skipped)."""

    async def next_part(self) -> TextField | FilePart | None: ...


class UploadTooLarge(AppError):
    status_code = 413
    code = "upload_too_large"


class QuotaExceeded(AppError):
    status_code = 507
    code = "storage_quota_exceeded"


class MediaTypeRefused(AppError):
    """422, not 415: the body is the multipart form the document describes and the file
    part is bytes as documented; a rule (``HUB_CONTENT_ALLOWED_MEDIA_TYPES`` over the
    sniffed type) refuses it. 415 stays for a body that is not multipart/form-data."""

    status_code = 422
    code = "media_type_not_allowed"


def too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(
        f"The file exceeds the upload limit of {limit} bytes.", extra={"limit": limit}
    )


def quota_exceeded(quota: int) -> QuotaExceeded:
    return QuotaExceeded(
        "The organisation's storage quota does not leave room for this file.",
        extra={"quota": quota},
    )


@dataclass(frozen=True)
class StoredFile:
    blob: StoredBlob
    file_name: str
    media_type: str


class FileIntake:
    def __init__(self, store: Store, files: BlobStore, settings: ContentSettings) -> None:
        self.store = store
        self.files = files
        self.settings = settings

    async def usage(self, organisation_id: uuid.UUID) -> int:
        used = await self.store.scalar(
            select(u.c.bytes).where(u.c.organisation_id == organisation_id)
        )
        return int(used or 0)

    async def take(self, organisation_id: uuid.UUID, part: FilePart) -> StoredFile:
        """Sniff the first bytes (422 before anything is stored), then stream the rest
        into the store, stopping at the upload limit (413). The quota is checked exactly
        when the version is counted (:meth:`count`); an organisation already over it is
        refused before anything is read (507)."""
        limit = self.settings.max_upload_bytes
        quota = self.settings.storage_quota_bytes
        if quota and await self.usage(organisation_id) > quota:
            raise quota_exceeded(quota)
        file_name = sanitise_file_name(part.file_name)
        chunks = part.chunks()
        head = b""
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        media_type = sniff_media_type(head[:SNIFF_BYTES], file_name)
        if not is_allowed(media_type, self.settings.allowed_media_types):
            raise MediaTypeRefused(
                f"Files of type {media_type} are not accepted here.",
                extra={"mediaType": media_type},
            )

        async def body() -> AsyncIterator[bytes]:
            if head:
                yield head
            async for chunk in chunks:
                yield chunk

        try:
            blob = await self.files.put(body(), max_bytes=limit)
        except BlobTooLarge:
            raise too_large(limit) from None
        return StoredFile(blob=blob, file_name=file_name, media_type=media_type)

    async def count(self, session: AsyncSession, organisation_id: uuid.UUID, size: int) -> None:
        """Add ``size`` bytes to the organisation's usage under its row lock (507 when
        that passes the quota: the caller's transaction then rolls back)."""
        upsert = insert(StorageUsage).values(organisation_id=organisation_id, bytes=size)
        used = (
            await session.execute(
                upsert.on_conflict_do_update(
                    index_elements=[u.c.organisation_id], set_={"bytes": u.c.bytes + size}
                ).returning(u.c.bytes)
            )
        ).scalar_one()
        quota = self.settings.storage_quota_bytes
        if quota and used > quota:
            raise quota_exceeded(quota)

    @staticmethod
    async def uncount(session: AsyncSession, organisation_id: uuid.UUID, size: int) -> None:
        await session.execute(
            insert(StorageUsage)
            .values(organisation_id=organisation_id, bytes=0)
            .on_conflict_do_update(
                index_elements=[u.c.organisation_id],
                set_={"bytes": u.c.bytes - size},
            )
        )
