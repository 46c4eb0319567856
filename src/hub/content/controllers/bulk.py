"""``POST /documents/bulk``: one operation on up to 500 documents, all or nothing.

The body is strict (unknown fields, an unknown ``kind``, a field another kind carries:
400) because a bulk edit that silently ignored a misspelt field would change hundreds of
documents in a way nobody asked for. Every named document is checked by its single
operation's rule before anything changes (``services.bulk``).
"""

from __future__ import annotations

from typing import assert_never

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from hub.content.schemas import (
    MAX_BULK_DOCUMENTS,
    AddTagsOp,
    BulkIn,
    BulkOut,
    DocumentOut,
    RemoveTagsOp,
    RestoreOp,
    SetCustomFieldOp,
    SetDocumentTypeOp,
    ShareOp,
    TrashOp,
)
from hub.content.services.bulk import BulkResult, BulkService
from hub.content.services.sharing import Share
from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY, Idempotency, IdempotencyKey, to_schema

_DESCRIPTION = f"""\
Apply one `operation` to 1 to {MAX_BULK_DOCUMENTS} distinct documents of `organisationId`,
**all or nothing**, in one transaction. `operation.kind` is one of `addTags` (`tags`: ids or
names, unknown names become tags), `removeTags` (`tags`: existing tags), `setDocumentType`
(`documentTypeId`, null clears), `setCustomField` (`key`, `value`; null removes), `trash`,
`restore`, `share` (`userId` or `roleId`, `access` `view`/`edit`: that subject's share is
set, other shares and the restriction stay). Each kind carries exactly its fields.

Each document is checked by the rule of its single operation (edit right and not trashed
for tags/type/fields, delete right and no legal hold for `trash`, delete right and in the
trash for `restore`, share right for `share`). When any is refused nothing changes and the
problem's `extra.documents` lists each refused document as `{{id, status, code, reason}}`;
the status is the most fundamental one present (404 before 403 before 409 before 422).
A document the caller may not read, of another organisation or of none is `not_found`.

200: `updated` (how many documents changed; one already so is unchanged and publishes
nothing) and `items`, every named document as it now is, in request order. Each changed
document publishes the event of its single operation (`content.document.updated`,
`.trashed`, `.restored`, `.shared`). Accepts an `Idempotency-Key` header."""


class BulkController(Controller):
    path = "/documents/bulk"
    tags = ["Content: documents"]
    security = BEARER_OR_KEY

    @post(
        operation_id="bulkEditDocuments",
        status_code=200,
        summary="Bulk edit documents, all or nothing",
        description=_DESCRIPTION,
        opt=problems(403, 404, 409, 422),
    )
    async def bulk_edit(
        self,
        data: JSONBody[BulkIn],
        principal: NamedDependency[Principal],
        bulk_edits: NamedDependency[BulkService],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BulkOut]:
        async def produce() -> BulkOut:
            result = await _apply(bulk_edits, principal, data)
            items = [to_schema(item, DocumentOut) for item in result.items]
            return BulkOut(updated=result.updated, items=items)

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation="bulkEditDocuments",
            request=data,
            produce=produce,
            result_type=BulkOut,
            status_code=200,
        )


async def _apply(bulk: BulkService, principal: Principal, body: BulkIn) -> BulkResult:
    org, ids, op = body.organisation_id, body.document_ids, body.operation
    match op:
        case AddTagsOp():
            return await bulk.add_tags(principal, org, ids, op.tags)
        case RemoveTagsOp():
            return await bulk.remove_tags(principal, org, ids, op.tags)
        case SetDocumentTypeOp():
            return await bulk.set_document_type(principal, org, ids, op.document_type_id)
        case SetCustomFieldOp():
            return await bulk.set_custom_field(principal, org, ids, op.key, op.value)
        case TrashOp():
            return await bulk.trash(principal, org, ids)
        case RestoreOp():
            return await bulk.restore(principal, org, ids)
        case ShareOp():
            share = Share(user_id=op.user_id, role_id=op.role_id, access=op.access)
            return await bulk.share(principal, org, ids, share)
        case _:
            assert_never(op)
