"""/orgs/{orgId}/roles: the built-in roles and custom named sets of permissions."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.identity.api import Membership
from hub.identity.domain.roles import ROLES_MANAGE, ROLES_READ
from hub.identity.schemas.orgs import RoleIn, RoleOut, RolePatch
from hub.identity.services.roles import RoleService
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema


class RoleController(Controller):
    path = "/orgs/{org_id:uuid}/roles"
    tags = ["Identity: roles and permissions"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listRoles",
        summary="Roles of an organisation (roles.read)",
        guards=[permission(ROLES_READ)],
    )
    async def list_roles(
        self,
        membership: NamedDependency[Membership],
        roles: NamedDependency[RoleService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[RoleOut]:
        return page_as(await roles.page(membership, limit=limit, cursor=cursor), RoleOut)

    @post(
        operation_id="createRole",
        opt=problems(409, 422),
        summary="Create a custom role (roles.manage)",
        description="Permissions must be catalogue keys (422 `unknown_permission`) that the "
        "caller holds (403 `permission_not_held`).",
        guards=[permission(ROLES_MANAGE)],
    )
    async def create_role(
        self,
        membership: NamedDependency[Membership],
        data: JSONBody[RoleIn],
        roles: NamedDependency[RoleService],
    ) -> RoleOut:
        view = await roles.create(
            membership,
            name=data.name,
            description=data.description,
            permissions=data.permissions,
        )
        return to_schema(view, RoleOut)

    @patch(
        "/{role_id:uuid}",
        operation_id="updateRole",
        opt=problems(409, 422),
        summary="Rename a custom role or change its permissions (roles.manage)",
        guards=[permission(ROLES_MANAGE)],
    )
    async def update_role(
        self,
        membership: NamedDependency[Membership],
        role_id: FromPath[uuid.UUID],
        data: JSONBody[RolePatch],
        roles: NamedDependency[RoleService],
    ) -> RoleOut:
        view = await roles.update(membership, role_id, **data.sent())
        return to_schema(view, RoleOut)

    @delete(
        "/{role_id:uuid}",
        status_code=204,
        operation_id="deleteRole",
        opt=problems(409),
        summary="Delete a custom role nobody holds (roles.manage)",
        guards=[permission(ROLES_MANAGE)],
    )
    async def delete_role(
        self,
        membership: NamedDependency[Membership],
        role_id: FromPath[uuid.UUID],
        roles: NamedDependency[RoleService],
    ) -> None:
        await roles.delete(membership, role_id)
