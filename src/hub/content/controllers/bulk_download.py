"""``POST /documents/download``: several documents' current files as one zip, streamed
(``services.bulk_download`` checks, records and writes it)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response import Stream

from hub.content.controllers.files import content_disposition
from hub.content.schemas import BulkDownloadIn
from hub.content.services.bulk_download import BulkDownloadService
from hub.kernel.openapi import problems
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY

_ZIP: dict[int, ResponseSpec] = {
    200: ResponseSpec(
        bytes,
        media_type="application/zip",
        description="A zip of the documents' current files, in the order asked, each under "
        "its file name (`name (2).ext` from a name's second use on).",
    )
}


class BulkDownloadController(Controller):
    path = "/documents"
    tags = ["Content: documents"]
    security = BEARER_OR_KEY

    @post(
        "/download",
        status_code=200,
        operation_id="downloadDocuments",
        summary="Several documents' current files as one zip (streamed)",
        description="1 to 100 distinct documents of `organisationId` the caller may read "
        "(another's, an unreadable or missing one: 422 naming `documentIds[i]`). Each is "
        "recorded as downloaded (`content.document.downloaded`) before the zip is sent. "
        "Files together over HUB_CONTENT_BULK_DOWNLOAD_MAX_BYTES: 413 "
        "`bulk_download_too_large` (`extra.limit`, `extra.size`).",
        responses=_ZIP,
        opt={**rate_limit("uploads"), **problems(404, 413, 422)},
    )
    async def download(
        self,
        data: JSONBody[BulkDownloadIn],
        principal: NamedDependency[Principal],
        bulk_download: NamedDependency[BulkDownloadService],
    ) -> Stream:
        chosen = await bulk_download.prepare(principal, data.organisation_id, data.document_ids)
        return Stream(
            bulk_download.zipped(chosen),
            media_type="application/zip",
            headers={
                "Content-Disposition": content_disposition("attachment", "documents.zip"),
                "Cache-Control": "private, no-store",
            },
        )
