"""Several documents' current files as one zip (Paperless-ngx's bulk download).

Everything is decided before the first byte leaves: the caller must be a member of the
organisation (404 otherwise), each document one of its documents they may read (422
naming ``documentIds[i]`` otherwise, the same answer for a document that does not
exist), their files together must stay under ``HUB_CONTENT_BULK_DOWNLOAD_MAX_BYTES``
(413), and every download is recorded (``content.document.downloaded``, one per
document, committed first) — as for one file.

The zip is then written while it is sent: the stdlib's ``zipfile`` writes each member
into a sink the response drains, with the sizes the blob store knows (ZIP64 past 4 GiB)
and data descriptors, so nothing is buffered whole in memory or on disk. Members are
stored, not deflated: documents are mostly PDFs and images, compressed already. Names
are the stored (sanitised) file names; a name met twice becomes ``name (2).ext``.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from hub.content.domain.bulk import each_once
from hub.content.services.downloads import Download, DownloadService
from hub.kernel.errors import AppError
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal

#: The earliest date a zip entry can carry.
_EPOCH = (1980, 1, 1, 0, 0, 0)


class BulkDownloadTooLarge(AppError):
    status_code = 413
    code = "bulk_download_too_large"


class _Sink(io.RawIOBase):
    """Where ``zipfile`` writes: the bytes wait here until the response takes them."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def member_names(file_names: Sequence[str]) -> list[str]:
    """The names in the zip: each file's, ``stem (n).ext`` from its second use on
    (case-insensitively, as the file systems most people unzip on compare them)."""
    seen: set[str] = set()
    out: list[str] = []
    for name in file_names:
        stem, dot, extension = name.rpartition(".")
        if not dot or not stem:
            stem, dot, extension = name, "", ""
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{stem} ({n}){dot}{extension}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def _date_time(moment: datetime | None) -> tuple[int, int, int, int, int, int]:
    if moment is None:
        return _EPOCH
    at = moment.astimezone(UTC)
    return (max(at.year, 1980), at.month, at.day, at.hour, at.minute, at.second)


class BulkDownloadService:
    def __init__(self, downloads: DownloadService, max_bytes: int) -> None:
        self.downloads, self.max_bytes = downloads, max_bytes

    async def prepare(
        self, principal: Principal, organisation_id: uuid.UUID, document_ids: Sequence[uuid.UUID]
    ) -> list[Download]:
        """The current versions to zip, checked and recorded as downloaded."""
        each_once(document_ids)
        await self.downloads.access.caller(principal, organisation_id)  # non-member: 404
        chosen: list[Download] = []
        for i, document_id in enumerate(document_ids):
            try:
                found: Download | None = await self.downloads.find(principal, document_id, None)
            except AppError:
                found = None
            if found is None or found.organisation_id != organisation_id:
                raise field_invalid(
                    f"documentIds[{i}]", "No document of this organisation that you may read."
                )
            chosen.append(found)
        total = sum(d.size for d in chosen)
        if total > self.max_bytes:
            raise BulkDownloadTooLarge(
                f"The files come to {total} bytes; one download holds at most "
                f"{self.max_bytes} (HUB_CONTENT_BULK_DOWNLOAD_MAX_BYTES).",
                extra={"limit": self.max_bytes, "size": total},
            )
        await self.downloads.record(*chosen)
        return chosen

    async def zipped(self, chosen: Sequence[Download]) -> AsyncIterator[bytes]:
        """The zip of ``chosen``, written as it is read."""
        sink = _Sink()
        names = member_names([d.file_name for d in chosen])
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
            for download, name in zip(chosen, names, strict=True):
                info = zipfile.ZipInfo(name, date_time=_date_time(download.created_at))
                info.file_size = download.size
                with archive.open(info, "w") as member:
                    async for chunk in self.downloads.read(download):
                        member.write(chunk)
                        if out := sink.take():
                            yield out
                if out := sink.take():
                    yield out
        yield sink.take()  # the central directory
