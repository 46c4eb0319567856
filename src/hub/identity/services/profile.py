"""The caller's own profile: reading it (the hot path of `GET /auth/me`) and changing the
display name or, after a confirmation by e-mail, the address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, update

from hub.identity.domain.accounts import clean_display_name, clean_email
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import Session, User
from hub.identity.repositories.users import UserRecord, user_by_id
from hub.identity.services.email_tokens import (
    CHANGE_EMAIL,
    EmailTokens,
)
from hub.identity.services.mail import IdentityMail
from hub.kernel.errors import Unauthorized
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.store import Store


def _profile_by_session() -> Select[Any]:
    u, s = User.__table__, Session.__table__
    return (
        select(
            u.c.id,
            u.c.email,
            u.c.display_name,
            u.c.email_verified_at,
            u.c.mfa_enabled,
            u.c.is_platform_admin,
            u.c.created_at,
        )
        .join(s, s.c.user_id == u.c.id)
        .where(
            u.c.id == bindparam("user_id"),
            s.c.id == bindparam("session_id"),
            s.c.revoked_at.is_(None),
            u.c.disabled_at.is_(None),
        )
    )


#: Built once: constructing the expression per request costs more than running it.
_PROFILE_BY_SESSION = _profile_by_session()


@dataclass(frozen=True)
class Profile:
    id: uuid.UUID
    email: str
    display_name: str
    email_verified: bool
    mfa_enabled: bool
    is_platform_admin: bool
    created_at: datetime


def _profile(user: UserRecord) -> Profile:
    return Profile(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        email_verified=user.email_verified_at is not None,
        mfa_enabled=user.mfa_enabled,
        is_platform_admin=user.is_platform_admin,
        created_at=user.created_at,
    )


class ProfileService:
    def __init__(
        self,
        store: Store,
        settings: IdentitySettings,
        mail: IdentityMail,
        tokens: EmailTokens,
    ) -> None:
        self.store = store
        self.settings = settings
        self.mail = mail
        self.tokens = tokens

    async def profile(self, principal: Principal) -> Profile:
        """The caller's profile, read together with its session row: one query that also
        refuses a revoked session, so this hot path needs no revocation lookup in Redis
        (the controller uses the kernel's ``token_principal``)."""
        params = {"user_id": principal.user_id, "session_id": principal.session_id}
        row = (await self.store.fetch(_PROFILE_BY_SESSION, params)).first()
        if row is None:
            raise Unauthorized(
                "The session of this access token has ended.",
                code="invalid_token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Profile(
            id=row.id,
            email=row.email,
            display_name=row.display_name,
            email_verified=row.email_verified_at is not None,
            mfa_enabled=row.mfa_enabled,
            is_platform_admin=row.is_platform_admin,
            created_at=row.created_at,
        )

    async def update_profile(
        self, principal: Principal, *, display_name: str | None, email: str | None
    ) -> Profile:
        user = await user_by_id(self.store, principal.user_id)
        if user is None or user.disabled_at is not None:
            raise Unauthorized("The account is not available.", code="invalid_token")
        new_email = clean_email(email) if email is not None else None
        if new_email == user.email:
            new_email = None
        if new_email is not None:
            require_recent_authentication(principal, self.settings.recent_auth_seconds)
        name = clean_display_name(display_name) if display_name is not None else None
        shown = user.display_name
        async with self.store.uow() as uow:
            if name is not None and name != user.display_name:
                await uow.session.execute(
                    update(User).where(User.id == user.id).values(display_name=name)
                )
                shown = name
            if new_email is not None:
                taken = await uow.session.scalar(select(User.id).where(User.email == new_email))
                if taken is None:
                    token = self.tokens.issue(
                        uow,
                        user,
                        CHANGE_EMAIL,
                        email=new_email,
                        ttl_seconds=self.settings.email_verification_ttl_seconds,
                    )
                    self.mail.confirm_new_email(uow, to=new_email, display_name=shown, token=token)
                # A taken address gets no mail and the same answer: no enumeration here.
            await uow.commit()
        return replace(_profile(user), display_name=shown)
