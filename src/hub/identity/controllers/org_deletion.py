"""``DELETE /orgs/{orgId}`` and ``POST /orgs/{orgId}/deletion/cancel``: deleting an
organisation after a grace period (``services.org_deletion``)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from hub.identity.domain.roles import OWNERS_MANAGE
from hub.identity.schemas.org_deletion import OrganisationDeletionOut
from hub.identity.services.org_deletion import OrganisationDeletion
from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER, to_schema


class OrganisationDeletionController(Controller):
    path = "/orgs/{org_id:uuid}"
    tags = ["Identity: organisations"]
    security = BEARER

    @delete(
        status_code=202,
        operation_id="deleteOrganisation",
        opt=problems(409),
        summary="Schedule the organisation's deletion (owners; closes it at once)",
        description="Needs an owner's recent sign-in (403 `reauthentication_required`; "
        "an admin or other member: 403 `permission_denied` or `owner_required`; API keys: "
        "403 `session_required`). The organisation is closed at once (every route of "
        "every context answers 404 for it, its API keys stop working), each active "
        "member is e-mailed, and after `HUB_ORG_DELETION_GRACE_DAYS` (default 30) it is "
        "purged: every context deletes its data, documents' files included. An owner "
        "can cancel until `purgeAfter`. 409 `deletion_already_scheduled`.",
        guards=[permission(OWNERS_MANAGE)],
    )
    async def delete_organisation(
        self,
        org_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        org_deletion: NamedDependency[OrganisationDeletion],
    ) -> OrganisationDeletionOut:
        return to_schema(await org_deletion.schedule(principal, org_id), OrganisationDeletionOut)

    @post(
        "/deletion/cancel",
        status_code=204,
        operation_id="cancelOrganisationDeletion",
        opt=problems(401, 403, 404, 409),
        summary="Cancel a scheduled deletion within the grace period (owners)",
        description="Reopens the organisation as it was. 404 for someone who is not a "
        "member; 403 `owner_required` for a member who is not an owner (`session_required` "
        "for an API key); 409 `deletion_not_scheduled`, or `grace_period_over` once "
        "`purgeAfter` has passed.",
    )
    async def cancel_deletion(
        self,
        org_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        org_deletion: NamedDependency[OrganisationDeletion],
    ) -> None:
        await org_deletion.cancel(principal, org_id)
