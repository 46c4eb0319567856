"""Sessions (signed-in devices) and their refresh-token families.

A session *is* the family: every refresh token rotated from a login belongs to it, and
revoking it stops the refresh tokens (rows) and the access tokens (the kernel's Redis
revocation set) at once.

Lifetimes: a session ends ``HUB_SESSION_MAX_AGE_SECONDS`` after its sign-in however active
it is, and ``HUB_SESSION_IDLE_TIMEOUT_SECONDS`` after its last refresh (or step-up). Both
are enforced where a session is extended (refresh, step-up); no refresh token outlives
the maximum age, and an access token is cut at it too. Time is the kernel clock (tests
move it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Interval, func, literal, select, update

from hub.identity.api import LoginSucceeded, SessionRevoked
from hub.identity.domain.devices import device_of, is_new_device
from hub.identity.domain.secrets import new_token, token_hash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import RefreshToken, Session, SsoSession
from hub.identity.repositories.users import UserRecord
from hub.identity.services.mail import IdentityMail
from hub.identity.services.tokens import AccessTokens
from hub.kernel.clock import Clock, wall_clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import NotFound
from hub.kernel.pagination import Page
from hub.kernel.schema import new_id
from hub.kernel.security import Principal, RevocationList
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo, overlay

REFRESH_PREFIX = "hub_rt_"
#: How many of an account's latest sessions the new-sign-in check compares with.
_EARLIER_SESSIONS = 200


@dataclass(frozen=True)
class IssuedTokens:
    user_id: uuid.UUID
    session_id: uuid.UUID
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class SessionView(Protocol):
    """What minting tokens reads of a session (a ``Session`` row or a rotation's row)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def auth_time(self) -> datetime: ...
    @property
    def amr(self) -> str: ...


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class SessionService:
    store: Store
    settings: IdentitySettings
    access_tokens: AccessTokens
    revocations: RevocationList
    clock: Clock = wall_clock
    #: Sends the "new sign-in" notice (``HUB_SIGN_IN_ALERTS``); None: never.
    mail: IdentityMail | None = None

    @property
    def max_age(self) -> timedelta:
        return timedelta(seconds=self.settings.session_max_age_seconds)

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.session_idle_timeout_seconds)

    def ended(self, session: Session, now: datetime) -> str | None:
        """Why ``session`` is over by its lifetimes at ``now`` (the ``session_revoked``
        reason), or None while it lives."""
        if now >= session.created_at + self.max_age:
            return "session_expired"
        if now >= session.last_seen_at + self.idle_timeout:
            return "session_idle"
        return None

    def new_refresh_token(
        self, session_id: uuid.UUID, now: datetime, session_created_at: datetime
    ) -> tuple[str, RefreshToken]:
        """A refresh token for the session, never outliving its maximum age."""
        raw = new_token(REFRESH_PREFIX)
        row = RefreshToken(
            session_id=session_id,
            token_hash=token_hash(raw),
            created_at=now,
            expires_at=min(
                now + timedelta(seconds=self.settings.refresh_token_ttl_seconds),
                session_created_at + self.max_age,
            ),
        )
        return raw, row

    async def open(
        self, uow: UnitOfWork, user: UserRecord, methods: list[str], client: ClientInfo
    ) -> tuple[Session, str]:
        """Start a session for a user who just proved every factor; returns the refresh token."""
        now = self.clock()
        device = device_of(client.user_agent)
        if self.mail is not None and self.settings.sign_in_alerts:
            earlier = await uow.session.execute(
                select(Session.device, Session.user_agent)
                .where(Session.user_id == user.id)
                .order_by(Session.created_at.desc())
                .limit(_EARLIER_SESSIONS)
            )
            if is_new_device(device, (d or device_of(ua) for d, ua in earlier)):
                self.mail.notice(
                    uow, "new_sign_in", user, when=now, device=device, ip=client.ip or "unknown"
                )
        session = Session(
            id=new_id(),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            auth_time=now,
            amr=",".join(methods),
            user_agent=client.user_agent,  # cut to 512 characters by ClientInfo
            ip=client.ip,
            device=device,
        )
        uow.session.add(session)
        await uow.session.flush()  # no ORM relationship orders the two inserts
        raw, row = self.new_refresh_token(session.id, now, now)
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
        self,
        user_id: uuid.UUID,
        is_platform_admin: bool,
        session: SessionView,
        refresh_token: str,
        refresh_expires_at: datetime,
    ) -> IssuedTokens:
        """Mint an access token beside ``refresh_token``; reads only loaded attributes.
        ``refreshExpiresIn`` is what is left before the session can no longer be refreshed:
        the token's expiry, the maximum age or the idle timeout, whichever comes first."""
        now = self.clock()
        deadline = session.created_at + self.max_age
        access = await self.access_tokens.issue(
            user_id=user_id,
            session_id=session.id,
            auth_time=session.auth_time,
            amr=[m for m in session.amr.split(",") if m],
            is_platform_admin=is_platform_admin,
            not_after=int((deadline - now).total_seconds()),
        )
        usable_until = min(refresh_expires_at, deadline, session.last_seen_at + self.idle_timeout)
        return IssuedTokens(
            user_id=user_id,
            session_id=session.id,
            access_token=access.token,
            expires_in=access.expires_in,
            refresh_token=refresh_token,
            refresh_expires_in=max(0, int((usable_until - now).total_seconds())),
        )

    async def revoke_where(
        self,
        uow: UnitOfWork,
        *,
        reason: str,
        user_id: uuid.UUID | None = None,
        session_id: uuid.UUID | None = None,
        keep: uuid.UUID | None = None,
        among: Any = None,
    ) -> list[uuid.UUID]:
        """Mark sessions revoked in ``uow``: a user's (``user_id``), or those ``among``
        selects (a subquery of session ids); call :meth:`stop_access_tokens` after commit."""
        if user_id is None and among is None:
            raise TypeError("revoke_where needs a user_id or an among")
        stmt = (
            update(Session)
            .where(Session.revoked_at.is_(None))
            .values(revoked_at=self.clock(), revoked_reason=reason)
            .returning(Session.id, Session.user_id)
        )
        if user_id is not None:
            stmt = stmt.where(Session.user_id == user_id)
        if among is not None:
            stmt = stmt.where(Session.id.in_(among))
        if session_id is not None:
            stmt = stmt.where(Session.id == session_id)
        if keep is not None:
            stmt = stmt.where(Session.id != keep)
        rows = (await uow.session.execute(stmt)).all()
        for sid, owner in rows:
            uow.publish(
                SessionRevoked(actor_id=owner, user_id=owner, session_id=sid, reason=reason)
            )
        ended = [sid for sid, _ in rows]
        if ended:  # an ended session has no logout left to hint at
            await uow.session.execute(
                update(SsoSession)
                .where(SsoSession.session_id.in_(ended))
                .values(id_token_sealed=None)
            )
        return ended

    async def stop_access_tokens(self, session_ids: list[uuid.UUID]) -> None:
        await self.revocations.revoke(session_ids)

    async def list(
        self, principal: Principal, *, limit: int | None, cursor: str | None
    ) -> Page[Any]:
        """The caller's live sessions with when each ends: ``expires_at`` (maximum age) and
        ``idle_expires_at`` (idle timeout, pushed back by each refresh). Sessions already
        past either are left out, revoked or not yet."""
        t = Session.__table__
        now = self.clock()
        stmt = select(
            t,
            func.array_remove(func.string_to_array(t.c.amr, ","), "").label("methods"),
            (t.c.id == principal.session_id).label("current"),
            (t.c.created_at + literal(self.max_age, Interval)).label("expires_at"),
            (t.c.last_seen_at + literal(self.idle_timeout, Interval)).label("idle_expires_at"),
        ).where(
            t.c.user_id == principal.user_id,
            t.c.revoked_at.is_(None),
            t.c.created_at > now - self.max_age,
            t.c.last_seen_at > now - self.idle_timeout,
        )
        page = await self.store.page(stmt, t.c.id, limit=limit, cursor=cursor, newest_first=True)
        # Sessions opened before devices were named get theirs from their User-Agent.
        page.items = [
            row if row.device else overlay(row, device=device_of(row.user_agent))
            for row in page.items
        ]
        return page

    async def revoke_all(self, principal: Principal, *, keep_current: bool) -> int:
        """Sign out everywhere: every session of the caller (but the calling one when
        ``keep_current``) ends, refresh and access tokens at once. API keys are not
        sessions and stay (revoke them at /auth/api-keys)."""
        async with self.store.uow() as uow:
            ids = await self.revoke_where(
                uow,
                user_id=principal.user_id,
                reason="signed_out_everywhere",
                keep=principal.session_id if keep_current else None,
            )
            await uow.commit()
        await self.stop_access_tokens(ids)
        return len(ids)

    async def revoke(self, principal: Principal, session_id: uuid.UUID, *, reason: str) -> None:
        async with self.store.uow() as uow:
            ids = await self.revoke_where(
                uow, user_id=principal.user_id, session_id=session_id, reason=reason
            )
            if not ids:
                raise NotFound("No such session.")
            await uow.commit()
        await self.stop_access_tokens(ids)
