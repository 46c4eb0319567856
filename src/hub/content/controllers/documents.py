"""/documents: upload, read, list, edit, share, trash and download documents.

Routes addressing a document by id find its organisation by loading it, then apply the
tenancy and document rules (``services.access``): outside the caller's organisations, or
unreadable, the document does not exist (404). ``GET /documents`` names the organisation
in its query and goes through the kernel's ``permission()`` guard.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from hub.content.controllers.files import FILE_RESPONSES, serve
from hub.content.controllers.multipart import ENVELOPE_BYTES, MultipartForm, boundary_of
from hub.content.domain.access import WRITE
from hub.content.domain.documents import (
    MAX_ASN,
    MAX_TAG_TREES,
    MAX_TAGS,
    split_list,
    tag_trees,
)
from hub.content.domain.field_filters import (
    FIELD_FILTER_PATTERN,
    MAX_FIELD_FILTERS,
    parse_field_filters,
)
from hub.content.domain.settings import ContentSettings
from hub.content.repositories.documents import Filters
from hub.content.schemas import (
    DocumentOut,
    DocumentPage,
    DocumentPatch,
    Facets,
    NextAsnOut,
    PermissionsIn,
    PermissionsOut,
    RestoreVersionIn,
    VersionOut,
)
from hub.content.services.access import as_caller
from hub.content.services.documents import FACETS_PATTERN, DocumentService, Listing
from hub.content.services.downloads import DownloadService
from hub.content.services.sharing import Share, SharingService
from hub.content.services.storing import too_large
from hub.content.services.trash import TrashService
from hub.content.services.uploads import FIELD_LIMITS, UploadService
from hub.identity.api import Membership
from hub.kernel.openapi import problems, streamed_body
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.problems import field_invalid
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

#: Version numbers are PostgreSQL integers: a larger one names no version.
MAX_VERSION = 2**31 - 1
OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]
#: ``?tagTree=`` of the document list and search.
TagTrees = Annotated[
    list[uuid.UUID] | None,
    QueryParameter(
        name="tagTree",
        required=False,
        schema_extra={"maxItems": MAX_TAG_TREES},
        description="Documents carrying this tag or any tag under it (repeat for several "
        f"trees, all applying; at most {MAX_TAG_TREES}; combines with `tag`).",
    ),
]
_UPLOAD_DESCRIPTION = (
    "multipart/form-data, streamed: `organisationId` (before `file`), `file`, optional "
    "`title` (default: the file name), `tags` (repeated; tag ids or names), "
    "`documentTypeId`, `customFields` (a JSON object as text), `archiveSerialNumber`. The "
    "media type is sniffed "
    "from the bytes: 422 `media_type_not_allowed` outside HUB_CONTENT_ALLOWED_MEDIA_TYPES, "
    "413 `upload_too_large` past HUB_MAX_UPLOAD_BYTES, 507 `storage_quota_exceeded`; a body "
    "that is not multipart/form-data is 415 `unsupported_media_type`."
)


def _text(name: str, description: str, **more: Any) -> Schema:
    limit = FIELD_LIMITS.get(name)
    return Schema(type=OpenAPIType.STRING, max_length=limit, description=description, **more)


_FILE = Schema(
    type=OpenAPIType.STRING,
    format="binary",  # type: ignore[arg-type]
    description="The file (its part carries a file name). Its type is sniffed from its bytes.",
)
_UUID = {"format": "uuid"}
#: The upload form as the document states it; properties in the order to send them.
UPLOAD_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=["organisationId", "file"],
    properties={
        "organisationId": _text(
            "organisationId", "The organisation; a part before `file` (422 after it).", **_UUID
        ),
        "file": _FILE,
        "title": _text("title", "Default: the file name."),
        # One part per tag: on the multipart wire one `tags` part is exactly a one-item
        # list, so the document says both forms, as the server reads them.
        "tags": Schema(
            any_of=[
                _text("tags", "A tag id or name (unknown names become tags)."),
                Schema(
                    type=OpenAPIType.ARRAY,
                    max_items=MAX_TAGS,
                    items=_text("tags", "A tag id or name (unknown names become tags)."),
                ),
            ],
            description="One part per tag (a single part is a list of one).",
        ),
        "documentTypeId": _text("documentTypeId", "A document type of the organisation.", **_UUID),
        "customFields": _text("customFields", "A JSON object as text."),
        "archiveSerialNumber": _text(
            "archiveSerialNumber",
            "The number on the paper original, 1 to 4294967295 (Paperless-ngx's ASN); "
            "unique in the organisation (409 `asn_taken`).",
        ),
    },
)
#: The form of a new version.
VERSION_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=["file"],
    properties={"file": _FILE, "comment": _text("comment", "What changed.")},
)


def _form(request: Request[Any, Any, Any], settings: ContentSettings) -> MultipartForm:
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise too_large(limit)
    boundary = boundary_of(request.headers.get("content-type", ""))
    return MultipartForm(request.stream().__aiter__(), boundary, max_upload_bytes=limit)


#: ``?facets=``: counts over every matching document, added to the page.
FacetsQuery = Annotated[
    str | None,
    QueryParameter(
        required=False,
        pattern=FACETS_PATTERN,
        description="Counts to add, comma-separated: `tags`, `types` or `tags,types`.",
    ),
]


def document_page(listing: Listing) -> DocumentPage:
    """A listing (a page and its facet counts) as the wire's document page."""
    page = page_as(listing.page, DocumentOut)
    return DocumentPage(
        items=page.items,
        limit=page.limit,
        next_cursor=page.next_cursor,
        facets=to_schema(listing.facets, Facets) if listing.facets is not None else None,
    )


class DocumentController(Controller):
    path = "/documents"
    tags = ["Content: documents"]
    security = BEARER_OR_KEY

    @post(
        operation_id="uploadDocument",
        summary="Upload a document (multipart, streamed)",
        description=_UPLOAD_DESCRIPTION,
        request_max_body_size=None,  # the upload limit is HUB_MAX_UPLOAD_BYTES, checked here
        opt={
            **rate_limit("uploads"),
            **streamed_body(UPLOAD_FORM),
            **problems(403, 404, 503, 507),
        },
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        uploads: NamedDependency[UploadService],
        content_settings: NamedDependency[ContentSettings],
    ) -> DocumentOut:
        document = await uploads.create(principal, _form(request, content_settings))
        return to_schema(document, DocumentOut)

    @get(
        operation_id="listDocuments",
        summary="Documents of an organisation the caller may read",
        guards=[permission(None)],
    )
    async def list_documents(
        self,
        membership: NamedDependency[Membership],
        documents: NamedDependency[DocumentService],
        organisation_id: OrganisationQuery,
        tag: Annotated[list[uuid.UUID] | None, QueryParameter(required=False)] = None,
        tag_tree: TagTrees = None,
        document_type_id: Annotated[
            uuid.UUID | None, QueryParameter(name="documentTypeId", required=False)
        ] = None,
        owner_id: Annotated[
            uuid.UUID | None, QueryParameter(name="ownerId", required=False)
        ] = None,
        archive_serial_number: Annotated[
            int | None,
            QueryParameter(name="archiveSerialNumber", required=False, ge=1, le=MAX_ASN),
        ] = None,
        created_from: Annotated[
            datetime | None, QueryParameter(name="createdFrom", required=False)
        ] = None,
        created_to: Annotated[
            datetime | None, QueryParameter(name="createdTo", required=False)
        ] = None,
        field: Annotated[
            list[str] | None,
            QueryParameter(
                required=False,
                schema_extra={"pattern": FIELD_FILTER_PATTERN, "maxItems": MAX_FIELD_FILTERS},
                description="Custom-field conditions, all applying: `key:op:value` with op "
                "`eq` (any type; on a document link: links to that document) or `lt`, `lte`, "
                "`gt`, `gte` (integer, number, monetary amount, date YYYY-MM-DD), e.g. "
                "`amount:gte:100`. An unknown key or a value the field cannot hold: 422.",
            ),
        ] = None,
        trashed: FromQuery[bool] = False,
        sort: FromQuery[Literal["created", "updated", "title"]] = "created",
        facets: FacetsQuery = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> DocumentPage:
        listing = await documents.list(
            as_caller(membership),
            Filters(
                tag_ids=tuple(tag or ()),
                tag_trees=tag_trees(tag_tree),
                document_type_id=document_type_id,
                owner_id=owner_id,
                created_from=created_from,
                created_to=created_to,
                trashed=trashed,
                archive_serial_number=archive_serial_number,
            ),
            fields=parse_field_filters(field or []),
            sort=sort,
            limit=limit,
            cursor=cursor,
            facets=split_list(facets),
        )
        return document_page(listing)

    @get(
        "/next-asn",
        operation_id="nextArchiveSerialNumber",
        summary="The next free archive serial number of an organisation",
        description="One more than the organisation's highest (1 when it has none), to "
        "write on a paper original before its upload. Needs content.documents.write. Not "
        "reserved: an upload that names it after another did gets 409 `asn_taken`.",
        guards=[permission(WRITE)],
    )
    async def next_archive_serial_number(
        self,
        organisation_id: OrganisationQuery,
        documents: NamedDependency[DocumentService],
    ) -> NextAsnOut:
        return NextAsnOut(next=await documents.next_asn(organisation_id))

    @get("/{document_id:uuid}", operation_id="getDocument", summary="One document")
    async def get_document(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        documents: NamedDependency[DocumentService],
    ) -> DocumentOut:
        return to_schema(await documents.get(principal, document_id), DocumentOut)

    @patch(
        "/{document_id:uuid}",
        opt=problems(403, 409),  # editing or legalHold not allowed; in the trash
        operation_id="updateDocument",
        summary="Change a document's metadata (legalHold: content.admin)",
    )
    async def update_document(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[DocumentPatch],
        principal: NamedDependency[Principal],
        documents: NamedDependency[DocumentService],
    ) -> DocumentOut:
        body = data
        view = await documents.update(
            principal,
            document_id,
            title=body.title,
            tags=body.tags,
            document_type_id=body.document_type_id,
            custom_fields=body.custom_fields,
            legal_hold=body.legal_hold,
            archive_serial_number=body.archive_serial_number,
        )
        return to_schema(view, DocumentOut)

    @delete(
        "/{document_id:uuid}",
        status_code=204,
        opt=problems(403, 409),  # 409: under legal hold
        operation_id="trashDocument",
        summary="Move a document to the trash",
    )
    async def trash_document(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        trash: NamedDependency[TrashService],
    ) -> None:
        await trash.trash(principal, document_id)

    @post(
        "/{document_id:uuid}/restore",
        status_code=200,
        opt=problems(403, 409),  # 409: not in the trash
        operation_id="restoreDocument",
        summary="Take a document out of the trash",
    )
    async def restore_document(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        trash: NamedDependency[TrashService],
    ) -> DocumentOut:
        return to_schema(await trash.restore(principal, document_id), DocumentOut)

    @delete(
        "/{document_id:uuid}/permanent",
        status_code=204,
        opt=problems(403, 409),  # 409: not in the trash, or under legal hold
        operation_id="deleteDocumentPermanently",
        summary="Delete a trashed document for good",
    )
    async def delete_permanently(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        trash: NamedDependency[TrashService],
    ) -> None:
        await trash.delete_permanently(principal, document_id)

    @get(
        "/{document_id:uuid}/content",
        operation_id="downloadDocument",
        responses=FILE_RESPONSES,
        opt=problems(416),
        summary="The current (or ?version=) file: ETag, If-None-Match, Range",
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        downloads: NamedDependency[DownloadService],
        version: Annotated[int | None, QueryParameter(required=False, ge=1, le=MAX_VERSION)] = None,
        disposition: FromQuery[Literal["inline", "attachment"] | None] = None,
    ) -> Response[Any]:
        found = await downloads.find(principal, document_id, version)
        return await serve(
            request,
            found,
            lambda start, end: downloads.read(found, start, end),
            lambda: downloads.record(found),
            disposition=disposition,
        )

    @get(
        "/{document_id:uuid}/versions",
        operation_id="listDocumentVersions",
        summary="Version history, newest first",
    )
    async def list_versions(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        documents: NamedDependency[DocumentService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[VersionOut]:
        page = await documents.versions(principal, document_id, limit=limit, cursor=cursor)
        return page_as(page, VersionOut)

    @post(
        "/{document_id:uuid}/versions",
        operation_id="addDocumentVersion",
        summary="Upload a new current version (multipart: file, optional comment)",
        request_max_body_size=None,
        opt={
            **rate_limit("uploads"),
            **streamed_body(VERSION_FORM),
            **problems(403, 409, 503, 507),
        },
    )
    async def add_version(
        self,
        request: Request[Any, Any, Any],
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        uploads: NamedDependency[UploadService],
        content_settings: NamedDependency[ContentSettings],
    ) -> VersionOut:
        version = await uploads.add_version(
            principal, document_id, _form(request, content_settings)
        )
        return to_schema(version, VersionOut)

    @post(
        "/{document_id:uuid}/versions/{number:int}/restore",
        status_code=201,
        operation_id="restoreDocumentVersion",
        opt=problems(403, 409),  # 409: the document is in the trash
        summary="Make an old version's file the new current version",
    )
    async def restore_version(
        self,
        document_id: FromPath[uuid.UUID],
        number: FromPath[int],
        principal: NamedDependency[Principal],
        uploads: NamedDependency[UploadService],
        data: JSONBody[RestoreVersionIn | None] = None,
    ) -> VersionOut:
        if not 1 <= number <= MAX_VERSION:  # past a PostgreSQL integer: no such version
            raise field_invalid(
                "version", f"The document has no version {number}.", source="path", status_code=404
            )
        comment = data.comment if data is not None else None
        version = await uploads.restore_version(principal, document_id, number, comment)
        return to_schema(version, VersionOut)

    @get(
        "/{document_id:uuid}/permissions",
        operation_id="getDocumentPermissions",
        summary="Restriction and explicit shares",
    )
    async def get_permissions(
        self,
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        sharing: NamedDependency[SharingService],
    ) -> PermissionsOut:
        return to_schema(await sharing.get(principal, document_id), PermissionsOut)

    @put(
        "/{document_id:uuid}/permissions",
        operation_id="setDocumentPermissions",
        opt=problems(403),
        summary="Replace the restriction and the shares",
    )
    async def put_permissions(
        self,
        document_id: FromPath[uuid.UUID],
        data: JSONBody[PermissionsIn],
        principal: NamedDependency[Principal],
        sharing: NamedDependency[SharingService],
    ) -> PermissionsOut:
        body = data
        shares = [Share(user_id=s.user_id, role_id=s.role_id, access=s.access) for s in body.shares]
        view = await sharing.put(principal, document_id, restricted=body.restricted, shares=shares)
        return to_schema(view, PermissionsOut)
