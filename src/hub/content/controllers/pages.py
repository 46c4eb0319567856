"""Editing PDF documents' pages: ``POST /documents/{id}/pages`` (rotate, delete, reorder:
a new version), ``POST /documents/{id}/split`` (new documents) and ``POST
/documents/merge`` (a new document). The work is ``services.pdf_editing``'s."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.content.schemas import (
    DocumentOut,
    MergeIn,
    PagesEditIn,
    SplitIn,
    SplitOut,
    VersionOut,
)
from hub.content.services.pdf_editing import PdfEditing
from hub.kernel.openapi import problems
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY, Idempotency, IdempotencyKey, to_schema

_REFUSED = (
    " A page the document does not have is a 422 naming the field (`operations[0].pages`,"
    " `parts[1].to`…); a document that is not a PDF 422 `not_a_pdf`; an encrypted, damaged"
    " or oversized PDF 422 `pdf_unreadable` (`extra.reason`: `encrypted`, `corrupt`,"
    " `too_large`, `memory`, `timeout`); a document in the trash 409. The PDF is opened in"
    " a child process bounded like text extraction (HUB_CONTENT_EXTRACTION_TIMEOUT_SECONDS,"
    " HUB_CONTENT_EXTRACTION_MEMORY_MB)."
)


class PagesController(Controller):
    path = "/documents"
    tags = ["Content: documents"]
    security = BEARER_OR_KEY

    @post(
        "/{document_id:uuid}/pages",
        status_code=201,
        operation_id="editDocumentPages",
        summary="Rotate, delete or reorder a PDF's pages: a new current version",
        description="`operations` apply in order, each reading page numbers as the pages "
        "stand after the ones before. The result is a new version (the old one stays in "
        "the history; restoring it undoes the edit); an edit must leave a page. Needs the "
        "edit right. Another version made current while this one was edited: 409 "
        "`version_conflict`." + _REFUSED,
        opt={**rate_limit("uploads"), **problems(403, 409, 413, 422, 507)},
    )
    async def edit_pages(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[PagesEditIn],
        principal: NamedDependency[Principal],
        pdf_editing: NamedDependency[PdfEditing],
    ) -> VersionOut:
        # {"kind", "pages", "degrees"} / {"kind", "order"}: the domain plan reads these
        operations = msgspec.to_builtins(data.operations)
        version = await pdf_editing.edit(principal, document_id, operations, data.comment)
        return to_schema(version, VersionOut)

    @post(
        "/{document_id:uuid}/split",
        status_code=201,
        operation_id="splitDocument",
        summary="Make new documents of parts of a PDF's pages",
        description="Each part (`from`..`to`, inclusive) of the current version becomes a "
        "document of the organisation, all in one transaction, with the source's title "
        "(and its pages), tags, type and custom fields (document links excepted). The "
        "source stays as it is, unless `deleteOriginal` moves it to the trash in the same "
        "transaction (its delete right: 403; under legal hold: 409 `legal_hold`, both "
        "before any work). Needs read access to it and content.documents.write. "
        "Accepts an `Idempotency-Key` header." + _REFUSED,
        opt={**rate_limit("uploads"), **problems(403, 409, 413, 422, 507)},
    )
    async def split(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[SplitIn],
        principal: NamedDependency[Principal],
        pdf_editing: NamedDependency[PdfEditing],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[SplitOut]:
        async def produce() -> SplitOut:
            parts = [{"from": p.from_, "to": p.to} for p in data.parts]
            made = await pdf_editing.split(
                principal, document_id, parts, delete_original=data.delete_original
            )
            return SplitOut(items=[to_schema(d, DocumentOut) for d in made])

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation="splitDocument",
            request={"documentId": str(document_id), "body": data},
            produce=produce,
            result_type=SplitOut,
        )

    @post(
        "/merge",
        status_code=201,
        operation_id="mergeDocuments",
        summary="One new document with the pages of several PDFs, in order",
        description="2 to 50 distinct documents of `organisationId` the caller may read "
        "(another's, an unreadable or missing one: 422 naming `documentIds[i]`); the new "
        "document takes the first one's tags, type and custom fields (document links "
        "excepted) and its title unless `title` is given. The sources stay as they are, "
        "unless `deleteOriginals` moves them to the trash in the same transaction (the "
        "delete right on each: 403; one under legal hold: 409 `legal_hold`). "
        "Needs content.documents.write. Accepts an `Idempotency-Key` header." + _REFUSED,
        opt={**rate_limit("uploads"), **problems(403, 404, 409, 413, 422, 507)},
    )
    async def merge(
        self,
        data: JSONBody[MergeIn],
        principal: NamedDependency[Principal],
        pdf_editing: NamedDependency[PdfEditing],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[DocumentOut]:
        async def produce() -> DocumentOut:
            made = await pdf_editing.merge(
                principal,
                data.organisation_id,
                data.document_ids,
                data.title,
                delete_originals=data.delete_originals,
            )
            return to_schema(made, DocumentOut)

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation="mergeDocuments",
            request=data,
            produce=produce,
            result_type=DocumentOut,
        )
