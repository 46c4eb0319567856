"""/orgs/{orgId}/consume-folder: the organisation's consumption folder on the server
(Paperless-ngx's consume directory), set up by those holding content.consume.manage."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.content.domain.access import CONSUME_MANAGE
from hub.content.schemas import ConsumedFileOut, ConsumeFolderIn, ConsumeFolderOut
from hub.content.services.consume_folders import ConsumeFolders
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.problems import not_found
from hub.kernel.ratelimit import rate_limit
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

_UNAVAILABLE = (
    "409 `consume_folder_unavailable` when the operator has not set HUB_CONTENT_CONSUME_DIR."
)


def _out(row: Any) -> ConsumeFolderOut:
    if row is None:
        raise not_found("consumption folder")
    return to_schema(row, ConsumeFolderOut, folder=str(row.organisation_id))


class ConsumeFolderController(Controller):
    path = "/orgs/{org_id:uuid}/consume-folder"
    tags = ["Content: consumption folder"]
    security = BEARER_OR_KEY
    guards = [permission(CONSUME_MANAGE)]

    @get(
        operation_id="getConsumeFolder",
        summary="The organisation's consumption folder (404 until it is set up)",
    )
    async def get_folder(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        consume_folders: NamedDependency[ConsumeFolders],
    ) -> ConsumeFolderOut:
        return _out(await consume_folders.settings(membership))

    @put(
        operation_id="setConsumeFolder",
        summary="Set the consumption folder up, or change what its files become",
        description="The folder is HUB_CONTENT_CONSUME_DIR/<organisation id>/, made when "
        "missing. The caller becomes its owner: the documents are theirs. "
        + _UNAVAILABLE
        + " `tagIds` and `documentTypeId` must be the organisation's (422).",
        opt=problems(409, 422),
    )
    async def set_folder(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[ConsumeFolderIn],
        consume_folders: NamedDependency[ConsumeFolders],
    ) -> ConsumeFolderOut:
        row = await consume_folders.save(membership, msgspec.structs.asdict(data))
        return _out(row)

    @delete(
        status_code=204,
        operation_id="removeConsumeFolder",
        summary="Stop reading the folder (it and its files stay on disk)",
    )
    async def remove_folder(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        consume_folders: NamedDependency[ConsumeFolders],
    ) -> None:
        await consume_folders.remove(membership)

    @post(
        "/scan",
        status_code=202,
        operation_id="scanConsumeFolder",
        summary="Read the folder now instead of at the next minute",
        description=_UNAVAILABLE,
        opt={**problems(409), **rate_limit("sends")},
    )
    async def scan_folder(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        consume_folders: NamedDependency[ConsumeFolders],
    ) -> None:
        await consume_folders.queue_scan(membership)

    @get(
        "/files",
        operation_id="listConsumedFiles",
        summary="The files taken from the folder, the latest first",
    )
    async def files(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        consume_folders: NamedDependency[ConsumeFolders],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ConsumedFileOut]:
        page = await consume_folders.files(membership, limit=limit, cursor=cursor)
        return page_as(page, ConsumedFileOut)
