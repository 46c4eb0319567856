"""/users: platform administration (disable, enable, unlock). Administrators only."""

from __future__ import annotations

import uuid

from litestar import Controller, get, patch
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET

from hub.identity.controllers.convert import BEARER
from hub.identity.deps import identity_of, people_only
from hub.identity.schemas.admin import UserOut, UserPage, UserPatch
from hub.identity.services.admin import UserAdminView
from hub.kernel.security import Principal


def user_out(view: UserAdminView) -> UserOut:
    return UserOut(
        id=view.id,
        email=view.email,
        display_name=view.display_name,
        email_verified=view.email_verified,
        mfa_enabled=view.mfa_enabled,
        is_platform_admin=view.is_platform_admin,
        disabled=view.disabled,
        created_at=view.created_at,
        locked=view.locked,
    )


class UserAdminController(Controller):
    path = "/users"
    tags = ["Identity: platform administration"]
    guards = [people_only]
    security = BEARER

    @get(operation_id="listUsers", summary="All accounts (q: start of the e-mail address)")
    async def list_users(
        self,
        principal: NamedDependency[Principal],
        state: State,
        q: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> UserPage:
        page = await identity_of(state).admin.page(principal, query=q, limit=limit, cursor=cursor)
        return UserPage(
            items=[user_out(v) for v in page.items], limit=page.limit, next_cursor=page.next_cursor
        )

    @get("/{user_id:uuid}", operation_id="getUser", summary="One account, with its lock state")
    async def get_user(
        self, user_id: FromPath[uuid.UUID], principal: NamedDependency[Principal], state: State
    ) -> UserOut:
        return user_out(await identity_of(state).admin.get(principal, user_id))

    @patch(
        "/{user_id:uuid}",
        operation_id="updateUser",
        summary="Disable (ends every session) or enable an account; clear its lockouts",
    )
    async def update_user(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserPatch],
        principal: NamedDependency[Principal],
        state: State,
    ) -> UserOut:
        view = await identity_of(state).admin.update(
            principal,
            user_id,
            disabled=None if data.disabled is UNSET else data.disabled,
            unlock=data.unlock is True,
        )
        return user_out(view)
