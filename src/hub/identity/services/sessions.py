"""Sessions (signed-in devices) and their refresh-token families.

A session *is* the family: every refresh token rotated from a login belongs to it, and
revoking it stops the refresh tokens (rows) and the access tokens (the kernel's Redis
revocation set) at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from hub.identity.api import LoginSucceeded, SessionRevoked
from hub.identity.domain.secrets import new_token, token_hash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import RefreshToken, Session
from hub.identity.repositories.users import UserRecord
from hub.identity.services.tokens import AccessTokens
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import NotFound
from hub.kernel.pagination import Page
from hub.kernel.schema import new_id
from hub.kernel.security import Principal, RevocationList
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

REFRESH_PREFIX = "hub_rt_"
_MAX_USER_AGENT = 512


@dataclass(frozen=True)
class IssuedTokens:
    user_id: uuid.UUID
    session_id: uuid.UUID
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class SessionService:
    store: Store
    settings: IdentitySettings
    access_tokens: AccessTokens
    revocations: RevocationList

    def new_refresh_token(self, session_id: uuid.UUID, now: datetime) -> tuple[str, RefreshToken]:
        raw = new_token(REFRESH_PREFIX)
        row = RefreshToken(
            session_id=session_id,
            token_hash=token_hash(raw),
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl_seconds),
        )
        return raw, row

    async def open(
        self, uow: UnitOfWork, user: UserRecord, methods: list[str], client: ClientInfo
    ) -> tuple[Session, str]:
        """Start a session for a user who just proved every factor; returns the refresh token."""
        now = now_utc()
        session = Session(
            id=new_id(),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            auth_time=now,
            amr=",".join(methods),
            user_agent=client.user_agent[:_MAX_USER_AGENT],
            ip=client.ip,
        )
        uow.session.add(session)
        await uow.session.flush()  # no ORM relationship orders the two inserts
        raw, row = self.new_refresh_token(session.id, now)
        uow.session.add(row)
        uow.publish(
            LoginSucceeded(
                actor_id=user.id,
                user_id=user.id,
                session_id=session.id,
                methods=methods,
                ip=client.ip,
                user_agent=session.user_agent,
            )
        )
        return session, raw

    async def tokens(
        self, user: UserRecord, session: Session, refresh_token: str, refresh_expires_at: datetime
    ) -> IssuedTokens:
        """Mint an access token beside ``refresh_token``; reads only loaded attributes."""
        access = await self.access_tokens.issue(
            user_id=user.id,
            session_id=session.id,
            auth_time=session.auth_time,
            amr=[m for m in session.amr.split(",") if m],
            is_platform_admin=user.is_platform_admin,
        )
        return IssuedTokens(
            user_id=user.id,
            session_id=session.id,
            access_token=access.token,
            expires_in=access.expires_in,
            refresh_token=refresh_token,
            refresh_expires_in=max(0, int((refresh_expires_at - now_utc()).total_seconds())),
        )

    async def revoke_where(
        self,
        uow: UnitOfWork,
        *,
        user_id: uuid.UUID,
        reason: str,
        session_id: uuid.UUID | None = None,
        keep: uuid.UUID | None = None,
    ) -> list[uuid.UUID]:
        """Mark sessions revoked in ``uow``; call :meth:`stop_access_tokens` after commit."""
        stmt = (
            update(Session)
            .where(Session.user_id == user_id, Session.revoked_at.is_(None))
            .values(revoked_at=now_utc(), revoked_reason=reason)
            .returning(Session.id)
        )
        if session_id is not None:
            stmt = stmt.where(Session.id == session_id)
        if keep is not None:
            stmt = stmt.where(Session.id != keep)
        ids = list((await uow.session.execute(stmt)).scalars())
        for sid in ids:
            uow.publish(
                SessionRevoked(actor_id=user_id, user_id=user_id, session_id=sid, reason=reason)
            )
        return ids

    async def stop_access_tokens(self, session_ids: list[uuid.UUID]) -> None:
        await self.revocations.revoke(session_ids)

    async def list(
        self, principal: Principal, *, limit: int | None, cursor: str | None
    ) -> Page[Any]:
        t = Session.__table__
        stmt = select(
            t,
            func.array_remove(func.string_to_array(t.c.amr, ","), "").label("methods"),
            (t.c.id == principal.session_id).label("current"),
        ).where(t.c.user_id == principal.user_id, t.c.revoked_at.is_(None))
        return await self.store.page(stmt, t.c.id, limit=limit, cursor=cursor, newest_first=True)

    async def revoke(self, principal: Principal, session_id: uuid.UUID, *, reason: str) -> None:
        async with self.store.uow() as uow:
            ids = await self.revoke_where(
                uow, user_id=principal.user_id, session_id=session_id, reason=reason
            )
            if not ids:
                raise NotFound("No such session.")
            await uow.commit()
        await self.stop_access_tokens(ids)
