"""/orgs/{orgId}/roles: the built-in roles and custom named sets of permissions."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET

from hub.identity.controllers.convert import BEARER_OR_KEY
from hub.identity.deps import identity_of
from hub.identity.schemas.orgs import RoleIn, RoleOut, RolePage, RolePatch
from hub.identity.services.roles import RoleView
from hub.kernel.security import Principal


def role_out(view: RoleView) -> RoleOut:
    return RoleOut(
        id=view.id,
        name=view.name,
        description=view.description,
        builtin=view.builtin,
        permissions=view.permissions,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


class RoleController(Controller):
    path = "/orgs/{org_id:uuid}/roles"
    tags = ["Identity: roles and permissions"]
    security = BEARER_OR_KEY

    @get(operation_id="listRoles", summary="Roles of an organisation (identity.roles.read)")
    async def list_roles(
        self,
        org_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: State,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> RolePage:
        page = await identity_of(state).roles.page(principal, org_id, limit=limit, cursor=cursor)
        return RolePage(
            items=[role_out(v) for v in page.items], limit=page.limit, next_cursor=page.next_cursor
        )

    @post(
        operation_id="createRole",
        summary="Create a custom role (identity.roles.manage)",
        description="Permissions must be catalogue keys (422 `unknown_permission`) that the "
        "caller holds (403 `permission_not_held`).",
    )
    async def create_role(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[RoleIn],
        principal: NamedDependency[Principal],
        state: State,
    ) -> RoleOut:
        view = await identity_of(state).roles.create(
            principal,
            org_id,
            name=data.name,
            description=data.description,
            permissions=data.permissions,
        )
        return role_out(view)

    @patch(
        "/{role_id:uuid}",
        operation_id="updateRole",
        summary="Rename a custom role or change its permissions (identity.roles.manage)",
    )
    async def update_role(
        self,
        org_id: FromPath[uuid.UUID],
        role_id: FromPath[uuid.UUID],
        data: JSONBody[RolePatch],
        principal: NamedDependency[Principal],
        state: State,
    ) -> RoleOut:
        view = await identity_of(state).roles.update(
            principal,
            org_id,
            role_id,
            name=None if data.name is UNSET else data.name,
            description=None if data.description is UNSET else data.description,
            permissions=None if data.permissions is UNSET else data.permissions,
        )
        return role_out(view)

    @delete(
        "/{role_id:uuid}",
        status_code=204,
        operation_id="deleteRole",
        summary="Delete a custom role nobody holds (identity.roles.manage)",
    )
    async def delete_role(
        self,
        org_id: FromPath[uuid.UUID],
        role_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: State,
    ) -> None:
        await identity_of(state).roles.delete(principal, org_id, role_id)
