"""Platform administration (``/users``): list and inspect accounts, disable or enable
them, clear their brute-force lockouts, reset their second factor.

Who is an administrator is read from the database on every call, not from the token's
``adm`` claim, so taking the flag away takes effect at once; API keys never administer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hub.identity.api import UserUnlocked
from hub.identity.domain.emails import normalise_email
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import User
from hub.identity.repositories.users import USER_COLUMNS, UserRecord, user_by_email, user_by_id
from hub.identity.services.access import require_user_session
from hub.identity.services.accounts import AccountService
from hub.identity.services.mfa import MfaService
from hub.identity.services.throttle import Throttle
from hub.kernel.errors import Conflict, Forbidden, NotFound
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.store import Store

user_not_found = refusal(NotFound, "No such user.")


mfa_not_enabled = refusal(
    NotFound, "Two-step verification is not on for this user.", code="mfa_not_enabled"
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(eq=False)
class AdminService:
    store: Store
    settings: IdentitySettings
    throttle: Throttle
    accounts: AccountService
    mfa: MfaService

    async def require_admin(self, principal: Principal) -> None:
        require_user_session(principal)
        u = User.__table__
        row = (
            await self.store.fetch(
                select(u.c.is_platform_admin, u.c.disabled_at).where(u.c.id == principal.user_id)
            )
        ).first()
        if row is None or not row.is_platform_admin or row.disabled_at is not None:
            raise Forbidden("Platform administrators only.", code="platform_admin_required")

    async def page(
        self, principal: Principal, *, query: str | None, limit: int | None, cursor: str | None
    ) -> Page[Any]:
        """Accounts in creation order; ``query`` matches the start of the address."""
        await self.require_admin(principal)
        u = User.__table__
        stmt = select(*USER_COLUMNS)
        if query:
            stmt = stmt.where(u.c.email.like(_escape_like(normalise_email(query)) + "%"))
        return await self.store.page(stmt, u.c.id, limit=limit, cursor=cursor)

    async def _user(self, user_id: uuid.UUID) -> UserRecord:
        user = await user_by_id(self.store, user_id)
        if user is None:
            raise user_not_found()
        return user

    async def unlock_by_email(self, email: str) -> bool:
        """Clear an address's lockouts (and its account's second-factor lockout); whether
        an account uses the address."""
        address = normalise_email(email)
        user = await user_by_email(self.store, address)
        counters = [self.throttle.account(address)]
        if user is not None:
            counters.append(self.throttle.mfa(user.id))
        await self.throttle.unlock(*counters)
        return user is not None

    async def _locked(self, user: UserRecord) -> bool:
        throttle = self.throttle
        return await throttle.is_locked(throttle.account(user.email), throttle.mfa(user.id))

    async def get(self, principal: Principal, user_id: uuid.UUID) -> tuple[UserRecord, bool]:
        """The account and whether a brute-force lock refuses its password or factor."""
        await self.require_admin(principal)
        user = await self._user(user_id)
        return user, await self._locked(user)

    async def update(
        self,
        principal: Principal,
        user_id: uuid.UUID,
        *,
        disabled: bool | None,
        unlock: bool,
    ) -> tuple[UserRecord, bool]:
        await self.require_admin(principal)
        user = await self._user(user_id)
        if disabled is True and user.disabled_at is None:
            if user.id == principal.user_id:
                raise Conflict("You cannot disable your own account.", code="cannot_disable_self")
            await self.accounts.disable_user(user.id, actor_id=principal.user_id)
        elif disabled is False and user.disabled_at is not None:
            await self.accounts.enable_user(user.id, actor_id=principal.user_id)
        if unlock:
            throttle = self.throttle
            await throttle.unlock(throttle.account(user.email), throttle.mfa(user.id))
            async with self.store.uow() as uow:
                uow.publish(UserUnlocked(actor_id=principal.user_id, user_id=user.id))
                await uow.commit()
        user = await self._user(user_id)
        return user, await self._locked(user)

    async def reset_mfa(self, principal: Principal, user_id: uuid.UUID) -> None:
        """Turn a user's second factor off for them (``DELETE /users/{id}/mfa``). It weakens
        an account, so it needs the administrator's recent sign-in, like turning one's own
        factor off does."""
        await self.require_admin(principal)
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        await self._user(user_id)
        if not await self.mfa.reset(user_id, actor_id=principal.user_id, via="admin_api"):
            raise mfa_not_enabled()

    async def reset_mfa_by_email(self, email: str) -> bool | None:
        """``hub users reset-mfa``: whether a factor was on; None when no account uses
        ``email``."""
        user = await user_by_email(self.store, normalise_email(email))
        if user is None:
            return None
        return await self.mfa.reset(user.id, actor_id=None, via="cli")
