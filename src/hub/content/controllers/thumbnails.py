"""``GET /documents/{id}/thumbnail``: a version's preview image (``services.thumbnails``).

Served like the file itself (``controllers.files``): a strong ETag (the WebP's SHA-256),
``If-None-Match`` → 304, ``Cache-Control: private, no-cache`` (a client revalidates, so a
revoked reader stops seeing it), ``nosniff``. The bytes are a few KiB, read whole.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from hub.content.controllers.files import not_modified
from hub.content.domain.thumbnails import MAX_SIDE, MEDIA_TYPE
from hub.content.services.thumbnails import ThumbnailService
from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY

#: Version numbers are PostgreSQL integers (as for downloads).
MAX_VERSION = 2**31 - 1

THUMBNAIL_RESPONSES: dict[int, ResponseSpec] = {
    200: ResponseSpec(
        bytes,
        media_type=MEDIA_TYPE,
        description=f"The thumbnail: WebP, its longest side at most {MAX_SIDE} pixels.",
    ),
    304: ResponseSpec(None, description="The client's copy (`If-None-Match`) is current."),
}

_DESCRIPTION = (
    "A preview of the current version (or `?version=`): the first page of a PDF or the "
    f"image itself, as WebP fitting {MAX_SIDE} x {MAX_SIDE} pixels (never enlarged). Made "
    "by a background job after each upload, new version or version restore. Read rule, "
    "404s and 403s as for `GET /documents/{id}/content`; a preview is not a download "
    "(no `content.document.downloaded` event). Besides `not_found` (no such document or "
    "version), 404 answers with `code`:\n\n"
    "- `thumbnail_not_ready`: the job has not made it yet; try again shortly;\n"
    "- `no_thumbnail`: files of this type (text, office files…) have no preview "
    "(`extra.mediaType`); final;\n"
    "- `thumbnail_failed`: the file could not be rendered (damaged, encrypted, more than "
    "50 megapixels, a page larger than 200 inches…); final.\n\n"
    "ETag and `If-None-Match` (304) as for the file; `Cache-Control: private, no-cache`."
)


class ThumbnailController(Controller):
    path = "/documents/{document_id:uuid}"
    tags = ["Content: documents"]
    security = BEARER_OR_KEY

    @get(
        "/thumbnail",
        operation_id="getDocumentThumbnail",
        summary="A preview image (WebP) of the current (or ?version=) file",
        description=_DESCRIPTION,
        responses=THUMBNAIL_RESPONSES,
        opt=problems(404),
    )
    async def thumbnail(
        self,
        request: Request[Any, Any, Any],
        document_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        thumbnails: NamedDependency[ThumbnailService],
        version: Annotated[int | None, QueryParameter(required=False, ge=1, le=MAX_VERSION)] = None,
    ) -> Response[bytes]:
        found = await thumbnails.find(principal, document_id, version)
        etag = f'"{found.sha256}"'
        headers = {
            "ETag": etag,
            "Cache-Control": "private, no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        if not_modified(request.headers.get("if-none-match"), etag):
            return Response(content=b"", status_code=304, headers=headers)
        return Response(
            content=await thumbnails.read(found),
            status_code=200,
            headers=headers,
            media_type=MEDIA_TYPE,
        )
