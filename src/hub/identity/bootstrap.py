"""Wires the identity context into the composition root (routes, tables, keys, CLI,
permissions)."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import Provide

from hub.identity.api import IdentityApi
from hub.identity.cli import keys, users
from hub.identity.controllers.admin import UserAdminController
from hub.identity.controllers.apikeys import ApiKeyController
from hub.identity.controllers.auth import AuthController
from hub.identity.controllers.invitations import InvitationAcceptController, InvitationController
from hub.identity.controllers.jwks import jwks
from hub.identity.controllers.mfa import MfaController
from hub.identity.controllers.orgs import MemberController, OrganisationController
from hub.identity.controllers.permissions import list_permissions
from hub.identity.controllers.roles import RoleController
from hub.identity.controllers.sessions import SessionController
from hub.identity.deps import DEPENDENCIES
from hub.identity.domain.roles import PERMISSIONS
from hub.identity.facade import IdentityFacade
from hub.identity.models import Base
from hub.identity.services.container import Identity
from hub.identity.tasks import PRUNE_HOURLY, prune_expired_rows
from hub.kernel.contexts import ContextModule
from hub.kernel.runtime import Kernel


async def _start(kernel: Kernel) -> None:
    await Identity.of(kernel).start()


def provide_identity_api(state: State) -> IdentityApi:
    """``identity_api``: what other contexts' handlers may ask of identity in-process."""
    return IdentityFacade(state.kernel.db)


def build() -> ContextModule:
    return ContextModule(
        name="identity",
        metadata=Base.metadata,
        depends_on=(),
        route_handlers=[
            AuthController,
            SessionController,
            MfaController,
            ApiKeyController,
            OrganisationController,
            MemberController,
            RoleController,
            InvitationController,
            InvitationAcceptController,
            list_permissions,
            UserAdminController,
        ],
        root_route_handlers=[jwks],
        permissions=PERMISSIONS,
        dependencies={
            **DEPENDENCIES,
            "identity_api": Provide(provide_identity_api, sync_to_thread=False),
        },
        cli_commands=[keys, users],
        jobs=[prune_expired_rows],
        periodic=[PRUNE_HOURLY],
        on_startup=[_start],
    )
