"""/orgs and /orgs/{orgId}/members: organisations and their members.

Outside the caller's organisations every path answers 404; a member lacking the
permission gets 403. The services decide both.
"""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET

from hub.identity.controllers.convert import BEARER_OR_KEY, IdempotencyKey, replay_headers
from hub.identity.deps import identity_of
from hub.identity.schemas.orgs import (
    MemberOut,
    MemberPage,
    MemberPatch,
    OrganisationIn,
    OrganisationOut,
    OrganisationPage,
    OrganisationPatch,
    RoleRefOut,
)
from hub.identity.services.members import MemberView
from hub.identity.services.orgs import OrganisationView
from hub.kernel.security import Principal


def organisation_out(view: OrganisationView) -> OrganisationOut:
    return OrganisationOut(
        id=view.id,
        name=view.name,
        created_at=view.created_at,
        updated_at=view.updated_at,
        roles=view.roles,
    )


def member_out(view: MemberView) -> MemberOut:
    return MemberOut(
        user_id=view.user_id,
        email=view.email,
        display_name=view.display_name,
        active=view.active,
        joined_at=view.joined_at,
        roles=[RoleRefOut(id=r.id, name=r.name, builtin=r.builtin) for r in view.roles],
    )


class OrganisationController(Controller):
    path = "/orgs"
    tags = ["Identity: organisations"]
    security = BEARER_OR_KEY

    @get(operation_id="listOrganisations", summary="The organisations the caller belongs to")
    async def list_organisations(
        self,
        principal: NamedDependency[Principal],
        state: State,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> OrganisationPage:
        page = await identity_of(state).orgs.page(principal, limit=limit, cursor=cursor)
        return OrganisationPage(
            items=[organisation_out(v) for v in page.items],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )

    @post(
        operation_id="createOrganisation",
        summary="Create an organisation; the caller becomes its owner",
        description="Accepts an `Idempotency-Key` header: a retry replays the first answer.",
    )
    async def create_organisation(
        self,
        data: JSONBody[OrganisationIn],
        principal: NamedDependency[Principal],
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrganisationOut]:
        identity = identity_of(state)

        async def produce() -> OrganisationOut:
            return organisation_out(await identity.orgs.create(principal, data.name))

        out, replayed = await identity.idempotency.once(
            key=idempotency_key,
            caller=principal.user_id,
            operation="createOrganisation",
            request=data,
            produce=produce,
            result_type=OrganisationOut,
        )
        return Response(out, status_code=201, headers=replay_headers(replayed))

    @get("/{org_id:uuid}", operation_id="getOrganisation", summary="One organisation")
    async def get_organisation(
        self, org_id: FromPath[uuid.UUID], principal: NamedDependency[Principal], state: State
    ) -> OrganisationOut:
        return organisation_out(await identity_of(state).orgs.get(principal, org_id))

    @patch(
        "/{org_id:uuid}",
        operation_id="updateOrganisation",
        summary="Rename an organisation (needs identity.org.update)",
    )
    async def update_organisation(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[OrganisationPatch],
        principal: NamedDependency[Principal],
        state: State,
    ) -> OrganisationOut:
        view = await identity_of(state).orgs.update(
            principal, org_id, name=None if data.name is UNSET else data.name
        )
        return organisation_out(view)


class MemberController(Controller):
    path = "/orgs/{org_id:uuid}/members"
    tags = ["Identity: organisations"]
    security = BEARER_OR_KEY

    @get(operation_id="listMembers", summary="Members and their roles (identity.members.read)")
    async def list_members(
        self,
        org_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: State,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> MemberPage:
        page = await identity_of(state).members.page(principal, org_id, limit=limit, cursor=cursor)
        return MemberPage(
            items=[member_out(v) for v in page.items],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )

    @patch(
        "/{user_id:uuid}",
        operation_id="updateMember",
        summary="Replace a member's roles (identity.members.manage)",
        description="Only roles within the caller's own permissions can be given or taken "
        "(`permission_not_held`); the last owner cannot be demoted (409 `last_owner`).",
    )
    async def update_member(
        self,
        org_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MemberPatch],
        principal: NamedDependency[Principal],
        state: State,
    ) -> MemberOut:
        view = await identity_of(state).members.set_roles(
            principal, org_id, user_id, None if data.roles is UNSET else data.roles
        )
        return member_out(view)

    @delete(
        "/{user_id:uuid}",
        status_code=204,
        operation_id="removeMember",
        summary="Remove a member, or leave (your own id)",
        description="The last owner cannot leave or be removed (409 `last_owner`).",
    )
    async def remove_member(
        self,
        org_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: State,
    ) -> None:
        await identity_of(state).members.remove(principal, org_id, user_id)
