"""Share links (``/documents/{id}/share-links``, ``/share/{token}``) and notes
(``/documents/{id}/notes``).

``GET /share/{token}`` is the one content route without a principal: the token is the
credential. It is rate-limited by client address (the kernel's ``reads`` bucket) and
serves the file with the same headers as ``GET /documents/{id}/content`` (ETag,
conditional requests, ranges, Content-Disposition, sandbox for script-capable types).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from hub.content.controllers.files import FILE_RESPONSES, serve
from hub.content.schemas import NoteIn, NoteOut, ShareLinkCreatedOut, ShareLinkIn, ShareLinkOut
from hub.content.services.links import NoteService, ShareLinkService
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema


class DocumentLinksController(Controller):
    path = "/documents/{document_id:uuid}"
    tags = ["Content: documents"]
    security = BEARER_OR_KEY

    @post(
        "/share-links",
        status_code=201,
        operation_id="createShareLink",
        summary="Make a link that downloads the document without an account",
        description="Needs content.documents.share. The `url` is returned this once: only "
        "the token's SHA-256 is stored. Expires after `expiresInDays` (default 7); "
        "`version` pins a version, otherwise the current one is served.",
        opt=problems(409, 422),
    )
    async def create_link(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        share_links: NamedDependency[ShareLinkService],
        data: JSONBody[ShareLinkIn | None] = None,
    ) -> ShareLinkCreatedOut:
        body = data or ShareLinkIn()
        created = await share_links.create(
            principal, document_id, expires_in_days=body.expires_in_days, version=body.version
        )
        return to_schema(created, ShareLinkCreatedOut)

    @get(
        "/share-links",
        operation_id="listShareLinks",
        summary="The document's share links, newest first (revoked and expired included)",
    )
    async def list_links(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        share_links: NamedDependency[ShareLinkService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ShareLinkOut]:
        page = await share_links.list(principal, document_id, limit=limit, cursor=cursor)
        return page_as(page, ShareLinkOut)

    @delete(
        "/share-links/{link_id:uuid}",
        status_code=204,
        operation_id="revokeShareLink",
        summary="Revoke a share link (it answers 404 from now on)",
    )
    async def revoke_link(
        self,
        document_id: FromPath[uuid.UUID],
        link_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        share_links: NamedDependency[ShareLinkService],
    ) -> None:
        await share_links.revoke(principal, document_id, link_id)

    @get("/notes", operation_id="listNotes", summary="Notes on the document, oldest first")
    async def list_notes(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        document_notes: NamedDependency[NoteService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[NoteOut]:
        page = await document_notes.list(principal, document_id, limit=limit, cursor=cursor)
        return page_as(page, NoteOut)

    @post(
        "/notes",
        status_code=201,
        operation_id="addNote",
        summary="Add a note (anyone who may read the document)",
        description="`mentions`: up to 20 distinct members; those who may read the "
        "document are told (`document.mentioned`, category `documents`), the author and "
        "anyone else are not.",
        opt=problems(422),
    )
    async def add_note(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[NoteIn],
        principal: NamedDependency[Principal],
        document_notes: NamedDependency[NoteService],
    ) -> NoteOut:
        added = await document_notes.add(principal, document_id, data.text, data.mentions)
        return to_schema(added, NoteOut)

    @delete(
        "/notes/{note_id:uuid}",
        status_code=204,
        operation_id="deleteNote",
        summary="Delete a note of yours (403 for someone else's)",
    )
    async def delete_note(
        self,
        document_id: FromPath[uuid.UUID],
        note_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        document_notes: NamedDependency[NoteService],
    ) -> None:
        await document_notes.delete(principal, document_id, note_id)


class ShareController(Controller):
    path = "/share"
    tags = ["Content: share links"]
    security: list[dict[str, list[str]]] = []

    @get(
        "/{token:str}",
        operation_id="downloadSharedDocument",
        summary="Download through a share link, without an account",
        description="Unknown, expired and revoked links, and links of trashed documents, "
        "all answer 404. Same headers as downloadDocument: ETag, If-None-Match, Range.",
        responses=FILE_RESPONSES,
        opt={**rate_limit("reads"), **problems(416)},
    )
    async def download_shared(
        self,
        request: Request[Any, Any, Any],
        token: Annotated[str, Parameter(min_length=1, max_length=128)],
        share_links: NamedDependency[ShareLinkService],
        disposition: FromQuery[Literal["inline", "attachment"] | None] = None,
    ) -> Response[Any]:
        found = await share_links.use(token)
        return await serve(
            request,
            found,
            lambda start, end: share_links.read(found, start, end),
            _already_recorded,
            disposition=disposition,
        )


async def _already_recorded() -> None:
    """The use was counted and published when the link was resolved (every use, ranges
    included), so there is nothing left to record here."""
