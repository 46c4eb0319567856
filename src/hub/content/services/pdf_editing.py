"""Editing PDF documents' pages: rotate, delete and reorder (a new version), split (new
documents) and merge (a new document), as Paperless-ngx offers.

Each use case copies the current versions' bytes to a private temporary folder, runs the
PDF child (``services.pdf_worker``: bounded in memory, CPU and wall time like text
extraction, with the same settings) and stores what it wrote through the same path as an
upload: blob store (upload size limit), quota, version row, text extraction, thumbnail,
search row, events. History is never rewritten: an edit is a new version, so restoring the
previous one undoes it; split and merge leave their sources as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hub.content.api import DocumentsMerged, DocumentSplit
from hub.content.domain.access import WRITE, Action, Caller
from hub.content.domain.bulk import each_once
from hub.content.domain.documents import MAX_TITLE, TagRefs, clean_comment, clean_title
from hub.content.domain.pdf_pages import part_title
from hub.content.domain.settings import ContentSettings
from hub.content.domain.taxonomy import FieldType
from hub.content.repositories import documents
from hub.content.repositories import taxonomy as taxonomy_repo
from hub.content.repositories.blobs.base import BlobStore, BlobTooLarge
from hub.content.services.access import DocumentAccess, Opened
from hub.content.services.extraction.sandbox import ExtractionFailed, call
from hub.content.services.storing import StoredFile, too_large
from hub.content.services.trash import TrashService, check_trashable
from hub.content.services.uploads import Metadata, UploadService, document_trashed
from hub.content.services.views import view_of
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import permission_denied

PDF = "application/pdf"
WORKER = "hub.content.services.pdf_worker"
_CHUNK = 256 * 1024


class PdfUnreadable(AppError):
    status_code = 422
    code = "pdf_unreadable"


def not_a_pdf(field: str) -> AppError:
    return field_invalid(field, "Only PDF documents have pages to edit.", code="not_a_pdf")


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := await asyncio.to_thread(f.read, _CHUNK):
            yield chunk


class PdfEditing:
    def __init__(
        self,
        store: Store,
        access: DocumentAccess,
        files: BlobStore,
        uploads: UploadService,
        settings: ContentSettings,
        trash: TrashService,
    ) -> None:
        self.store = store
        self.access = access
        self.files = files
        self.uploads = uploads
        self.settings = settings
        self.trash = trash

    # ------------------------------------------------------------------ use cases

    async def edit(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        operations: list[dict[str, Any]],
        comment: str | None,
    ) -> dict[str, Any]:
        """The current version's pages rotated, deleted or reordered, as a new version."""
        opened = await self._editable(principal, document_id)
        note = clean_comment(comment) or "Pages edited"
        current = await self._current_pdf(opened, "documentId")
        async with _workspace() as folder:
            (output,) = await self._run(folder, "edit", [current], operations=operations)
            stored = await self._store(output, current.file_name)
        version: dict[str, Any] = await self.uploads.kept(
            stored,
            lambda s: self.uploads.new_current(
                opened.id,
                opened.row.organisation_id,
                s,
                opened.caller.user_id,
                comment=note,
                based_on=current.version,
            ),
        )
        return version

    async def split(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        parts: list[dict[str, int]],
        *,
        delete_original: bool = False,
    ) -> list[dict[str, Any]]:
        """Each part of the current version's pages as a new document of the
        organisation, all in one transaction: the source's title (with the pages), tags,
        type and custom fields (document links excepted: a link is kept on both
        documents, and the parts start without). ``delete_original``: the source goes to
        the trash in that transaction (:meth:`_originals`)."""
        opened = await self.access.open(principal, document_id)
        caller = self._writer(opened.caller)
        originals = _originals([opened]) if delete_original else []
        current = await self._current_pdf(opened, "documentId")
        meta = await self._copied_metadata(opened)
        comment = f"Split from version {current.version} of {opened.id}"

        async def write(uow: UnitOfWork, stored: list[StoredFile]) -> list[uuid.UUID]:
            made = [
                await self.uploads.write_document(
                    uow,
                    caller,
                    file,
                    replace(
                        meta,
                        title=part_title(opened.row.title, part, most=MAX_TITLE),
                        origin="split",
                        origin_ref=str(opened.id),
                    ),
                    comment=comment,
                    restricted=opened.row.restricted,
                )
                for part, file in zip(parts, stored, strict=True)
            ]
            for original in originals:
                await self.trash.trash_in(uow, original)
            uow.publish(
                DocumentSplit(
                    document_id=opened.id,
                    organisation_id=opened.row.organisation_id,
                    version=current.version,
                    parts=made,
                )
            )
            return made

        async with _workspace() as folder:
            outputs = await self._run(folder, "split", [current], parts=parts)
            made = await self._written(outputs, current.file_name, write)
        return [await view_of(self.store, i, caller) for i in made]

    async def merge(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID],
        title: str | None,
        *,
        delete_originals: bool = False,
    ) -> dict[str, Any]:
        """One new document with the pages of ``document_ids`` in that order; the first
        one's tags, type and custom fields (links excepted), and its title unless
        ``title`` is given."""
        each_once(document_ids)
        chosen = clean_title(title) if title is not None else None
        caller = self._writer(await self.access.caller(principal, organisation_id))
        sources: list[Opened] = []
        for i, document_id in enumerate(document_ids):
            try:
                opened: Opened | None = await self.access.open(principal, document_id)
            except AppError:
                opened = None
            if opened is None or opened.row.organisation_id != organisation_id:
                raise field_invalid(
                    f"documentIds[{i}]", "No document of this organisation that you may read."
                )
            sources.append(opened)
        originals = _originals(sources) if delete_originals else []
        versions = [await self._current_pdf(o, f"documentIds[{i}]") for i, o in enumerate(sources)]
        meta = replace(
            await self._copied_metadata(sources[0]),
            title=chosen or sources[0].row.title,
            origin="merge",
            origin_ref=str(sources[0].id),
        )

        async def write(uow: UnitOfWork, stored: list[StoredFile]) -> list[uuid.UUID]:
            made = await self.uploads.write_document(
                uow,
                caller,
                stored[0],
                meta,
                comment=f"Merged from {len(sources)} documents",
                restricted=any(o.row.restricted for o in sources),
            )
            for original in originals:
                await self.trash.trash_in(uow, original)
            uow.publish(
                DocumentsMerged(
                    document_id=made,
                    organisation_id=organisation_id,
                    sources=[o.id for o in sources],
                    versions=[v.version for v in versions],
                )
            )
            return [made]

        async with _workspace() as folder:
            outputs = await self._run(folder, "merge", versions)
            (made,) = await self._written(outputs, versions[0].file_name, write)
        return await view_of(self.store, made, caller)

    async def _written(
        self,
        outputs: list[Path],
        file_name: str,
        write: Callable[[UnitOfWork, list[StoredFile]], Awaitable[list[uuid.UUID]]],
    ) -> list[uuid.UUID]:
        """Store every output, then ``write`` them in one transaction; on any failure the
        stored blobs are forgotten again."""
        stored: list[StoredFile] = []
        done = False
        try:
            for output in outputs:
                stored.append(await self._store(output, file_name))
            async with self.store.uow() as uow:
                made = await write(uow, stored)
                await uow.commit()
            done = True
            return made
        finally:
            if not done:
                for file in stored:
                    await self.uploads.blobs.forget(file.blob)

    # ------------------------------------------------------------------ steps

    async def _editable(self, principal: Principal, document_id: uuid.UUID) -> Opened:
        opened = await self.access.open(principal, document_id, Action.EDIT)
        if opened.row.trashed_at is not None:
            raise document_trashed()
        return opened

    @staticmethod
    def _writer(caller: Caller) -> Caller:
        """A caller who may make documents in the organisation (403 otherwise)."""
        if WRITE not in caller.granted:
            raise permission_denied(WRITE)
        return caller

    async def _current_pdf(self, opened: Opened, field: str) -> Any:
        """The current version, which must be a PDF; its pages are about to be read, so
        a document whose type audits reads records it (``what``: ``pages``)."""
        if opened.row.trashed_at is not None:
            raise document_trashed()
        version = await documents.version(self.store, opened.id, opened.row.current_version)
        assert version is not None
        if version.media_type != PDF:
            raise not_a_pdf(field)
        await self.access.audit(opened, "pages", version=version.version)
        return version

    async def _copied_metadata(self, opened: Opened) -> Metadata:
        """The source's tags, type and custom fields, less its document links."""
        row = opened.row
        links = {
            d.key
            for d in await taxonomy_repo.read_definitions(self.store, row.organisation_id)
            if d.type == FieldType.DOCUMENT.value
        }
        tags = (await documents.tags_of(self.store, [row.id]))[row.id]
        return Metadata(
            title=None,
            tags=TagRefs(ids=tuple(t["id"] for t in tags), names=()),
            document_type_id=row.document_type_id,
            custom_fields={k: v for k, v in row.custom_fields.items() if k not in links},
        )

    async def _run(
        self, folder: Path, action: str, versions: list[Any], **request: Any
    ) -> list[Path]:
        """Run the child on copies of ``versions``' files in ``folder``; the paths it
        wrote there."""
        inputs = []
        for i, version in enumerate(versions):
            path = folder / f"in-{i}.pdf"
            await self._copy_out(version.sha256, path)
            inputs.append(str(path))
        timeout = self.settings.content_extraction_timeout_seconds
        try:
            answer = await asyncio.to_thread(
                call,
                WORKER,
                {
                    **request,
                    "action": action,
                    "inputs": inputs,
                    "output_dir": str(folder),
                    "memory_mb": self.settings.content_extraction_memory_mb,
                    "cpu_seconds": timeout + 1,
                },
                timeout_seconds=timeout,
                what="PDF edit",
            )
        except ExtractionFailed as failed:
            raise PdfUnreadable(
                f"The PDF could not be edited: {failed.detail}", extra={"reason": failed.code}
            ) from None
        if "error" in answer:
            if answer["error"] == "pages":
                raise field_invalid(str(answer["field"]), str(answer["detail"]))
            raise PdfUnreadable(
                f"The PDF could not be edited ({answer['error']}): {answer.get('detail', '')}",
                extra={"reason": answer["error"]},
            )
        return [Path(o["path"]) for o in answer["outputs"]]

    async def _copy_out(self, sha256: str, path: Path) -> None:
        out = await asyncio.to_thread(path.open, "wb")
        try:
            async for chunk in self.files.read(sha256):
                await asyncio.to_thread(out.write, chunk)
        finally:
            await asyncio.to_thread(out.close)

    async def _store(self, output: Path, file_name: str) -> StoredFile:
        """The child's output into the blob store (the upload size limit applies)."""
        limit = self.settings.max_upload_bytes
        try:
            blob = await self.files.put(_chunks(output), max_bytes=limit)
        except BlobTooLarge:
            raise too_large(limit) from None
        return StoredFile(blob=blob, file_name=file_name, media_type=PDF)


def _originals(sources: list[Opened]) -> list[Opened]:
    """Sources the caller asked to trash with the result (Paperless' "delete originals"):
    checked before any page is read, so a refusal costs no work — the delete right (403)
    and no legal hold (409 ``legal_hold``, checked again under the row lock when they go
    to the trash in the result's transaction)."""
    for opened in sources:
        opened.require(Action.DELETE)
        check_trashable(opened.row)
    return sources


@contextlib.asynccontextmanager
async def _workspace() -> AsyncIterator[Path]:
    """A private temporary folder for one use case's inputs and outputs, removed after."""
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="hub-pdf-"))
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
