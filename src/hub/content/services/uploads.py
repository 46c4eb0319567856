"""Uploading documents and versions, and restoring an old version as the new current one.

Order of an upload: read the text fields that precede the file; authorise (the
organisation must be named before the file); validate the metadata; stream the file into
the blob store (sniffed, limited, quota-bounded); read the fields after it; then one
transaction references the blob, counts the bytes against the quota, writes the document
and publishes the event. Any refusal after the file was stored deletes it again unless
another version references the same bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.content.api import DocumentUploaded, VersionAdded
from hub.content.domain.access import WRITE, Action, Caller
from hub.content.domain.documents import (
    MAX_ASN,
    MAX_COMMENT,
    MAX_CUSTOM_FIELDS_BYTES,
    MAX_TAG_NAME,
    MAX_TAGS,
    MAX_TITLE,
    TagRefs,
    clean_comment,
    clean_title,
    parse_asn,
    parse_custom_fields,
    parse_tags,
    parse_uuid,
)
from hub.content.models import Document, DocumentVersion
from hub.content.repositories import documents
from hub.content.repositories.blobs.base import StoredBlob
from hub.content.services.access import DocumentAccess
from hub.content.services.archive_numbers import asn_free, unique_asn
from hub.content.services.blobs import Blobs
from hub.content.services.doclinks import DocumentLinks, publish_reverse
from hub.content.services.search_index import SearchIndex
from hub.content.services.storing import FileIntake, FilePart, StoredFile, TextField, UploadForm
from hub.content.services.tagging import resolve_tags, set_tags
from hub.content.services.taxonomy import MetadataRules
from hub.content.services.text_extraction import ExtractionRequests
from hub.content.services.thumbnails import ThumbnailRequests
from hub.content.services.views import version_view, view_of
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict
from hub.kernel.problems import field_invalid
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import permission_denied

d = Document.__table__
v = DocumentVersion.__table__

#: The multipart field carrying the file.
FILE_FIELD = "file"
#: The organisation of a new document: a text field before the file.
ORGANISATION_FIELD = "organisationId"
#: Longest value of each text field, as the OpenAPI document states it (characters, as
#: sent): past it the request does not match the document (400). What cleaning leaves is
#: checked again by the domain rules (422).
FIELD_LIMITS = {
    "title": MAX_TITLE,
    "archiveSerialNumber": len(str(MAX_ASN)),
    "tags": MAX_TAG_NAME,
    "customFields": MAX_CUSTOM_FIELDS_BYTES,
    "comment": MAX_COMMENT,
}


def document_trashed() -> Conflict:
    return Conflict("The document is in the trash; restore it first.", code="document_trashed")


@dataclass
class Fields:
    values: dict[str, list[str]] = field(default_factory=dict)

    def add(self, part: TextField) -> None:
        self.values.setdefault(part.name, []).append(part.value)

    def one(self, name: str) -> str | None:
        """A single-valued field: sent twice, the form does not match the document (400)."""
        found = self.values.get(name)
        if found and len(found) > 1:
            raise field_invalid(
                name, "Send this field once.", code="validation_failed", status_code=400
            )
        return found[0] if found else None

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])


async def read_until_file(form: UploadForm) -> tuple[Fields, FilePart]:
    fields = Fields()
    while (part := await form.next_part()) is not None:
        if isinstance(part, TextField):
            fields.add(part)
        elif part.name == FILE_FIELD:
            return fields, part
        else:
            raise field_invalid(part.name, "Only the `file` field may carry a file.")
    raise field_invalid(FILE_FIELD, "A file is required.")


async def read_rest(form: UploadForm, fields: Fields) -> None:
    while (part := await form.next_part()) is not None:
        if not isinstance(part, TextField):
            raise field_invalid(part.name, "Only one file per upload.")
        fields.add(part)


#: What a caller writes about a new document in the transaction that creates it (the
#: consumption folder's claim marked consumed: both commit, or neither).
Recorded = Callable[[UnitOfWork, uuid.UUID], Awaitable[None]]


@dataclass(frozen=True)
class Metadata:
    title: str | None
    tags: TagRefs
    document_type_id: uuid.UUID | None
    custom_fields: dict[str, Any]
    archive_serial_number: int | None = None
    #: Where the document came from (``DocumentUploaded.origin``, ``origin_ref``).
    origin: str = "upload"
    origin_ref: str | None = None


def check_stated_limits(fields: Fields) -> None:
    """400 for a text field longer, or ``tags`` more often, than the document says."""
    for name, limit in FIELD_LIMITS.items():
        if any(len(value) > limit for value in fields.all(name)):
            raise field_invalid(name, f"At most {limit} characters.", status_code=400)
    if len(fields.all("tags")) > MAX_TAGS:
        raise field_invalid("tags", f"At most {MAX_TAGS} tags.", status_code=400)


def metadata_of(fields: Fields) -> Metadata:
    check_stated_limits(fields)
    title = fields.one("title")
    type_id = fields.one("documentTypeId")
    custom = fields.one("customFields")
    asn = fields.one("archiveSerialNumber")
    return Metadata(
        title=clean_title(title) if title is not None and title.strip() else None,
        tags=parse_tags(fields.all("tags")),
        # given, even empty, it must be a uuid (the document's format)
        document_type_id=(
            parse_uuid(type_id, field="documentTypeId") if type_id is not None else None
        ),
        custom_fields=parse_custom_fields(custom) if custom is not None else {},
        archive_serial_number=parse_asn(asn) if asn is not None else None,
    )


async def _organisation_missing(form: UploadForm) -> Exception:
    """Why an upload named no organisation before its file. Read on (the file is skipped,
    never stored): given after the file, the form matches the document but breaks the
    order rule a schema cannot state (422 ``field_order``); never given, it lacks a
    required field (400)."""
    while (part := await form.next_part()) is not None:
        if isinstance(part, TextField) and part.name == ORGANISATION_FIELD:
            return field_invalid(
                ORGANISATION_FIELD,
                "organisationId must come before the file.",
                code="field_order",
            )
    return field_invalid(
        ORGANISATION_FIELD, "organisationId is required before the file.", status_code=400
    )


class UploadService:
    def __init__(
        self,
        store: Store,
        access: DocumentAccess,
        intake: FileIntake,
        blobs: Blobs,
        clock: Clock,
        metadata: MetadataRules,
        links: DocumentLinks,
        thumbnails: ThumbnailRequests,
        extraction: ExtractionRequests,
    ) -> None:
        self.store = store
        self.access = access
        self.intake = intake
        self.blobs = blobs
        self.clock = clock
        self.metadata = metadata
        self.links = links
        self.thumbnails = thumbnails
        self.extraction = extraction

    async def _stored(
        self, organisation_id: uuid.UUID, part: FilePart, then: Callable[[StoredFile], Any]
    ) -> Any:
        """Store the file, then run ``then``; a failure of ``then`` forgets the blob."""
        return await self.kept(await self.intake.take(organisation_id, part), then)

    async def kept(self, stored: StoredFile, then: Callable[[StoredFile], Any]) -> Any:
        """Run ``then`` on a file already in the blob store; if it fails, the blob is
        forgotten again (deleted unless a version references the same bytes)."""
        blob: StoredBlob | None = stored.blob
        try:
            result = await then(stored)
            blob = None
            return result
        finally:
            await self.blobs.forget(blob)

    async def create(self, principal: Principal, form: UploadForm) -> dict[str, Any]:
        """``POST /documents``: a new document from a multipart upload."""
        fields, part = await read_until_file(form)
        raw_org = fields.one(ORGANISATION_FIELD)
        if raw_org is None:
            raise await _organisation_missing(form)
        organisation_id = parse_uuid(raw_org, field="organisationId")
        caller = await self.access.caller(principal, organisation_id)
        if WRITE not in caller.granted:
            raise permission_denied(WRITE)
        metadata_of(fields)  # refuse bad metadata before storing anything

        async def write(stored: StoredFile) -> dict[str, Any]:
            await read_rest(form, fields)
            return await self.create_from(caller, stored, metadata_of(fields))

        result: dict[str, Any] = await self._stored(organisation_id, part, write)
        return result

    async def create_from_part(
        self, caller: Caller, part: FilePart, meta: Metadata, *, recorded: Recorded | None = None
    ) -> dict[str, Any]:
        """A new document from a file read in-process (a mail's attachment, a file of the
        consumption folder), taken into the store and checked as an upload's file is."""

        async def write(stored: StoredFile) -> dict[str, Any]:
            return await self.create_from(caller, stored, meta, recorded=recorded)

        result: dict[str, Any] = await self._stored(caller.organisation_id, part, write)
        return result

    async def create_from(
        self,
        caller: Caller,
        stored: StoredFile,
        meta: Metadata,
        *,
        comment: str | None = None,
        recorded: Recorded | None = None,
    ) -> dict[str, Any]:
        """A new document of the caller's organisation from a stored file, in one
        transaction (:meth:`write_document`), with what ``recorded`` writes about it."""
        async with self.store.uow() as uow:
            document_id = await self.write_document(uow, caller, stored, meta, comment=comment)
            if recorded is not None:
                await recorded(uow, document_id)
            await uow.commit()
        return await view_of(self.store, document_id, caller)

    async def write_document(
        self,
        uow: UnitOfWork,
        caller: Caller,
        stored: StoredFile,
        meta: Metadata,
        *,
        comment: str | None = None,
        restricted: bool = False,
    ) -> uuid.UUID:
        """Write a new document in ``uow``: its metadata checked, its first version
        written and counted, its text and thumbnail requested, its upload published.
        ``restricted``: start it restricted whatever the caller's sealed-uploads setting
        (made from a restricted document)."""
        organisation_id = caller.organisation_id
        now = self.clock()
        document = Document(
            id=new_id(),
            organisation_id=organisation_id,
            owner_id=caller.user_id,
            title=meta.title or clean_title(stored.file_name),
            document_type_id=meta.document_type_id,
            custom_fields=meta.custom_fields,
            archive_serial_number=meta.archive_serial_number,
            current_version=1,
            restricted=caller.sealed_uploads or restricted,
            created_at=now,
            updated_at=now,
        )
        session = uow.session
        await self.metadata.document_type(session, organisation_id, meta.document_type_id)
        written = await self.links.write(
            session,
            source=document.id,
            organisation_id=organisation_id,
            fields=await self.metadata.custom_fields(session, organisation_id, meta.custom_fields),
            reader=caller,
            new=True,
        )
        document.custom_fields = written.fields
        if meta.archive_serial_number is not None:
            await asn_free(session, organisation_id, meta.archive_serial_number)
        session.add(document)
        await unique_asn(session.flush(), meta.archive_serial_number)
        tag_ids = await resolve_tags(session, organisation_id, meta.tags)
        await set_tags(session, document.id, tag_ids)
        await self._add_version(
            session, document.id, organisation_id, stored, 1, now, caller.user_id, comment=comment
        )
        await self.extraction.request(uow, document.id, 1)
        await SearchIndex.refresh(uow, [document.id])
        uow.publish(
            DocumentUploaded(
                document_id=document.id,
                organisation_id=organisation_id,
                title=document.title,
                file_name=stored.file_name,
                origin=meta.origin,
                origin_ref=meta.origin_ref,
            )
        )
        await publish_reverse(
            uow, written.touched, organisation_id=organisation_id, source=document.id, via="user"
        )
        self.thumbnails.request(uow, document.id, 1, stored.media_type)
        return document.id

    async def _add_version(
        self,
        session: AsyncSession,
        document_id: uuid.UUID,
        organisation_id: uuid.UUID,
        stored: StoredFile,
        number: int,
        now: datetime,
        user_id: uuid.UUID,
        *,
        comment: str | None,
        restored_from: int | None = None,
    ) -> None:
        await self.blobs.reference(session, stored.blob)
        await self.intake.count(session, organisation_id, stored.blob.size)
        session.add(
            DocumentVersion(
                document_id=document_id,
                version=number,
                file_name=stored.file_name,
                media_type=stored.media_type,
                size=stored.blob.size,
                sha256=stored.blob.sha256,
                created_at=now,
                created_by=user_id,
                comment=comment,
                restored_from=restored_from,
            )
        )
        await session.flush()

    async def _next_version(
        self, session: AsyncSession, document_id: uuid.UUID, based_on: int | None = None
    ) -> int:
        """Lock the document and return its next version number (409 when trashed, and
        ``version_conflict`` when the new version was made from ``based_on`` but another
        became current meanwhile: it would silently undo that one)."""
        row = (
            await session.execute(
                select(d.c.current_version, d.c.trashed_at)
                .where(d.c.id == document_id)
                .with_for_update()
            )
        ).one()
        if row.trashed_at is not None:
            raise document_trashed()
        if based_on is not None and row.current_version != based_on:
            raise Conflict(
                f"Version {row.current_version} became current while version {based_on} "
                "was being edited; edit the current one.",
                code="version_conflict",
            )
        number: int = row.current_version + 1
        return number

    async def add_version(
        self, principal: Principal, document_id: uuid.UUID, form: UploadForm
    ) -> dict[str, Any]:
        """``POST /documents/{id}/versions``: a new current version from an upload."""
        opened = await self.access.open(principal, document_id, Action.EDIT)
        if opened.row.trashed_at is not None:
            raise document_trashed()
        fields, part = await read_until_file(form)
        check_stated_limits(fields)
        clean_comment(fields.one("comment"))
        organisation_id: uuid.UUID = opened.row.organisation_id

        async def write(stored: StoredFile) -> dict[str, Any]:
            await read_rest(form, fields)
            check_stated_limits(fields)
            comment = clean_comment(fields.one("comment"))
            return await self.new_current(
                opened.id, organisation_id, stored, opened.caller.user_id, comment=comment
            )

        result: dict[str, Any] = await self._stored(organisation_id, part, write)
        return result

    async def new_current(
        self,
        document_id: uuid.UUID,
        organisation_id: uuid.UUID,
        stored: StoredFile,
        user_id: uuid.UUID,
        *,
        comment: str | None,
        restored_from: int | None = None,
        based_on: int | None = None,
    ) -> dict[str, Any]:
        """``stored`` as the document's new current version; ``based_on``: the version it
        was made from, which must still be current (409 ``version_conflict``)."""
        now = self.clock()
        async with self.store.uow() as uow:
            session = uow.session
            number = await self._next_version(session, document_id, based_on)
            await self._add_version(
                session,
                document_id,
                organisation_id,
                stored,
                number,
                now,
                user_id,
                comment=comment,
                restored_from=restored_from,
            )
            await session.execute(
                update(Document)
                .where(d.c.id == document_id)
                .values(current_version=number, updated_at=now)
            )
            await self.extraction.request(uow, document_id, number)
            await SearchIndex.refresh(uow, [document_id])
            uow.publish(
                VersionAdded(
                    document_id=document_id,
                    organisation_id=organisation_id,
                    version=number,
                    file_name=stored.file_name,
                    restored_from=restored_from,
                )
            )
            self.thumbnails.request(uow, document_id, number, stored.media_type)
            await uow.commit()
        version = await documents.version(self.store, document_id, number)
        assert version is not None
        return version_view(version)

    async def restore_version(
        self, principal: Principal, document_id: uuid.UUID, number: int, comment: str | None
    ) -> dict[str, Any]:
        """``POST /documents/{id}/versions/{n}/restore``: version ``n``'s file becomes a new
        current version (history is never rewritten)."""
        opened = await self.access.open(principal, document_id, Action.EDIT)
        if opened.row.trashed_at is not None:
            raise document_trashed()
        old = await documents.version(self.store, document_id, number)
        if old is None:
            raise field_invalid(
                "version", f"The document has no version {number}.", source="path", status_code=404
            )
        stored = StoredFile(
            blob=StoredBlob(sha256=old.sha256, size=old.size, created=False),
            file_name=old.file_name,
            media_type=old.media_type,
        )
        return await self.new_current(
            opened.id,
            opened.row.organisation_id,
            stored,
            opened.caller.user_id,
            comment=clean_comment(comment),
            restored_from=number,
        )
