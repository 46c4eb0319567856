"""/orgs and /orgs/{orgId}/members: organisations and their members.

Outside the caller's organisations every path answers 404; a member lacking the
permission gets 403. The services decide both.
"""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET

from hub.identity.api import Membership
from hub.identity.domain.roles import (
    MEMBERS_MANAGE,
    MEMBERS_READ,
    ORG_READ,
    ORG_UPDATE,
    OWNERS_MANAGE,
)
from hub.identity.schemas.orgs import (
    MemberOut,
    MemberPatch,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    OwnershipTransferIn,
)
from hub.identity.services.members import MemberService
from hub.identity.services.orgs import OrganisationService
from hub.identity.services.ownership import OwnershipService
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import (
    BEARER,
    BEARER_OR_KEY,
    Cursor,
    Idempotency,
    IdempotencyKey,
    Limit,
    page_as,
    to_schema,
)


class OrganisationController(Controller):
    path = "/orgs"
    tags = ["Identity: organisations"]
    security = BEARER_OR_KEY

    @get(operation_id="listOrganisations", summary="The organisations the caller belongs to")
    async def list_organisations(
        self,
        principal: NamedDependency[Principal],
        orgs: NamedDependency[OrganisationService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[OrganisationOut]:
        return page_as(await orgs.page(principal, limit=limit, cursor=cursor), OrganisationOut)

    @post(
        operation_id="createOrganisation",
        opt=problems(403, 422),
        summary="Create an organisation; the caller becomes its owner",
        description="Accepts an `Idempotency-Key` header: a retry replays the first answer.",
    )
    async def create_organisation(
        self,
        data: JSONBody[OrganisationIn],
        principal: NamedDependency[Principal],
        orgs: NamedDependency[OrganisationService],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrganisationOut]:

        async def produce() -> OrganisationOut:
            return to_schema(await orgs.create(principal, data.name), OrganisationOut)

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation="createOrganisation",
            request=data,
            produce=produce,
            result_type=OrganisationOut,
        )

    @get(
        "/{org_id:uuid}",
        operation_id="getOrganisation",
        summary="One organisation",
        guards=[permission(ORG_READ)],
    )
    async def get_organisation(
        self,
        membership: NamedDependency[Membership],
        orgs: NamedDependency[OrganisationService],
    ) -> OrganisationOut:
        return to_schema(await orgs.get(membership), OrganisationOut)

    @patch(
        "/{org_id:uuid}",
        operation_id="updateOrganisation",
        opt=problems(422),
        summary="Rename an organisation (needs identity.org.update)",
        guards=[permission(ORG_UPDATE)],
    )
    async def update_organisation(
        self,
        membership: NamedDependency[Membership],
        data: JSONBody[OrganisationPatch],
        orgs: NamedDependency[OrganisationService],
    ) -> OrganisationOut:
        view = await orgs.update(membership, name=None if data.name is UNSET else data.name)
        return to_schema(view, OrganisationOut)


class MemberController(Controller):
    path = "/orgs/{org_id:uuid}/members"
    tags = ["Identity: organisations"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listMembers",
        summary="Members and their roles (members.read)",
        guards=[permission(MEMBERS_READ)],
    )
    async def list_members(
        self,
        membership: NamedDependency[Membership],
        members: NamedDependency[MemberService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[MemberOut]:
        return page_as(await members.page(membership, limit=limit, cursor=cursor), MemberOut)

    @patch(
        "/{user_id:uuid}",
        operation_id="updateMember",
        opt=problems(409, 422),
        summary="Replace a member's roles (members.manage)",
        description="Only roles within the caller's own permissions can be given or taken "
        "(`permission_not_held`); the last owner cannot be demoted (409 `last_owner`).",
        guards=[permission(MEMBERS_MANAGE)],
    )
    async def update_member(
        self,
        org_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MemberPatch],
        principal: NamedDependency[Principal],
        members: NamedDependency[MemberService],
    ) -> MemberOut:
        view = await members.set_roles(
            principal, org_id, user_id, None if data.roles is UNSET else data.roles
        )
        return to_schema(view, MemberOut)

    @delete(
        "/{user_id:uuid}",
        status_code=204,
        operation_id="removeMember",
        opt=problems(409),
        summary="Remove a member, or leave (your own id)",
        description="The last owner cannot leave or be removed (409 `last_owner`).",
        guards=[permission(None)],
    )
    async def remove_member(
        self,
        org_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        members: NamedDependency[MemberService],
    ) -> None:
        await members.remove(principal, org_id, user_id)


class OwnershipController(Controller):
    path = "/orgs/{org_id:uuid}/ownership-transfer"
    tags = ["Identity: organisations"]

    @post(
        status_code=204,
        operation_id="transferOwnership",
        opt=problems(404, 409),
        summary="Hand the organisation over: the member becomes owner, the caller admin",
        description="One step, under the organisation's lock; needs an owner's recent "
        "sign-in (403 `reauthentication_required`). 404 for someone who is not a member; "
        "409 `already_owner` (yourself), `not_an_owner`, `member_disabled`.",
        guards=[permission(OWNERS_MANAGE)],
        security=BEARER,
    )
    async def transfer(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[OwnershipTransferIn],
        principal: NamedDependency[Principal],
        ownership: NamedDependency[OwnershipService],
    ) -> None:
        await ownership.transfer(principal, org_id, data.user_id)
