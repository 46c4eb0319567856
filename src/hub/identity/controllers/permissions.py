"""/permissions: the catalogue every context contributes to from its bootstrap."""

from __future__ import annotations

from litestar import get
from litestar.datastructures import State
from litestar.di import NamedDependency

from hub.identity.domain.roles import BUILTIN_DESCRIPTIONS, BUILTIN_GRANTS, BUILTIN_ORDER, expand
from hub.identity.schemas.orgs import BuiltinRoleOut, PermissionCatalogue, PermissionOut
from hub.kernel.permissions import PermissionRegistry
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY


@get(
    "/permissions",
    tags=["Identity: roles and permissions"],
    operation_id="listPermissions",
    summary="The permission catalogue, and what each built-in role grants",
    security=BEARER_OR_KEY,
    sync_to_thread=False,
)
def list_permissions(principal: NamedDependency[Principal], state: State) -> PermissionCatalogue:
    registry: PermissionRegistry = state.kernel.permissions
    keys = registry.keys()
    return PermissionCatalogue(
        items=[
            PermissionOut(key=p.key, description=p.description, context=p.context) for p in registry
        ],
        builtin_roles=[
            BuiltinRoleOut(
                name=name,
                description=BUILTIN_DESCRIPTIONS[name],
                permissions=expand(BUILTIN_GRANTS[name], keys),
            )
            for name in BUILTIN_ORDER
        ],
    )
