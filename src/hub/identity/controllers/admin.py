"""/users: platform administration (disable, enable, unlock, reset the second factor).
Administrators only."""

from __future__ import annotations

import uuid

from litestar import delete, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET

from hub.identity.deps import PeopleController
from hub.identity.schemas.admin import UserOut, UserPatch
from hub.identity.services.admin import AdminService
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.ratelimit import rate_limit
from hub.kernel.security import Principal
from hub.kernel.web import Cursor, Limit, page_as, to_schema


class UserAdminController(PeopleController):
    path = "/users"
    tags = ["Identity: platform administration"]

    @get(operation_id="listUsers", summary="All accounts (q: start of the e-mail address)")
    async def list_users(
        self,
        principal: NamedDependency[Principal],
        user_admin: NamedDependency[AdminService],
        q: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[UserOut]:
        page = await user_admin.page(principal, query=q, limit=limit, cursor=cursor)
        return page_as(page, UserOut)

    @get("/{user_id:uuid}", operation_id="getUser", summary="One account, with its lock state")
    async def get_user(
        self,
        user_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        user_admin: NamedDependency[AdminService],
    ) -> UserOut:
        user, locked = await user_admin.get(principal, user_id)
        return to_schema(user, UserOut, locked=locked)

    @patch(
        "/{user_id:uuid}",
        operation_id="updateUser",
        opt=problems(409),
        summary="Disable (ends every session) or enable an account; clear its lockouts",
    )
    async def update_user(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserPatch],
        principal: NamedDependency[Principal],
        user_admin: NamedDependency[AdminService],
    ) -> UserOut:
        user, locked = await user_admin.update(
            principal,
            user_id,
            disabled=None if data.disabled is UNSET else data.disabled,
            unlock=data.unlock is True,
        )
        return to_schema(user, UserOut, locked=locked)

    @delete(
        "/{user_id:uuid}/mfa",
        status_code=204,
        operation_id="resetUserMfa",
        opt=rate_limit("sends"),  # mails the user
        summary="Turn a user's two-step verification off (needs a recent sign-in); "
        "the user is e-mailed",
    )
    async def reset_mfa(
        self,
        user_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        user_admin: NamedDependency[AdminService],
    ) -> None:
        await user_admin.reset_mfa(principal, user_id)
