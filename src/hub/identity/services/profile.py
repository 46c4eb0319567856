"""The caller's own profile: reading it (the hot path of `GET /auth/me`) and changing the
display name or, after a confirmation by e-mail, the address; and the undo link of an
address change.

The old address hears of an address change twice, when it is asked for and when it
happens, each time with an undo link: a thief with a briefly stolen session cannot move the
account away silently, and the owner can take it back (new password, every session and
API key ended) for ``HUB_EMAIL_CHANGE_UNDO_TTL_SECONDS`` whatever the thief does meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, select, update

from hub.identity.api import EmailChangeCancelled, EmailChangeRequested, EmailChangeReverted
from hub.identity.domain.accounts import check_password_policy, clean_display_name, clean_email
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import EmailToken, Session, User
from hub.identity.repositories.users import EMAIL_VERIFIED, UserRecord, user_by_id
from hub.identity.services.apikeys import revoke_all_api_keys
from hub.identity.services.email_tokens import (
    CHANGE_EMAIL,
    REVERT_EMAIL,
    EmailTokens,
    invalid_email_token,
)
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mail_limits import MailLimits
from hub.identity.services.passwords import PasswordHasher
from hub.identity.services.sessions import SessionService
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict, Unauthorized
from hub.kernel.security import Principal, require_recent_authentication, unauthorized
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo


def _profile_by_session() -> Select[Any]:
    u, s = User.__table__, Session.__table__
    return (
        select(
            u.c.id,
            u.c.email,
            u.c.display_name,
            EMAIL_VERIFIED,
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


@dataclass(eq=False)
class ProfileService:
    store: Store
    settings: IdentitySettings
    mail: IdentityMail
    tokens: EmailTokens
    hasher: PasswordHasher
    sessions: SessionService
    limits: MailLimits
    clock: Clock

    async def profile(self, principal: Principal) -> Row[Any]:
        """The caller's profile, read together with its session row: one query that also
        refuses a revoked session, so this hot path needs no revocation lookup in Redis
        (the controller uses the kernel's ``token_principal``)."""
        params = {"user_id": principal.user_id, "session_id": principal.session_id}
        row = (await self.store.fetch(_PROFILE_BY_SESSION, params)).first()
        if row is None:
            raise unauthorized("The session of this access token has ended.")
        return row

    async def update_profile(
        self, principal: Principal, *, display_name: str | None = None, email: str | None = None
    ) -> UserRecord:
        user = await user_by_id(self.store, principal.user_id)
        if user is None or user.disabled_at is not None:
            raise Unauthorized("The account is not available.", code="invalid_token")
        new_email = clean_email(email) if email is not None else None
        if new_email == user.email:
            new_email = None
        if new_email is not None:
            require_recent_authentication(principal, self.settings.recent_auth_seconds)
            # Anyone's address can be typed here: its mailbox's budget is spent whether or
            # not it is taken (a 429 only for some addresses would tell which are).
            await self.limits.spend(new_email)
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
                    token = self.tokens.address_token(uow, user, CHANGE_EMAIL, new_email)
                    self.mail.with_link(
                        uow, "confirm_new_email", to=new_email, display_name=shown, token=token
                    )
                # A taken address gets no mail and the same answer: no enumeration here.
                # The old address is told either way (it learns nothing a thief could use).
                self.mail.notice(
                    uow,
                    "email_change_requested",
                    user,
                    display_name=shown,
                    new_email=new_email,
                    undo_token=self.tokens.undo_token(uow, user, old_email=user.email),
                    when=self.clock(),
                )
                uow.publish(
                    EmailChangeRequested(
                        actor_id=user.id, user_id=user.id, old_email=user.email, new_email=new_email
                    )
                )
            await uow.commit()
        updated = await user_by_id(self.store, user.id)
        return user if updated is None else updated

    async def cancel_email_change(self, principal: Principal) -> None:
        """Withdraw a pending address change: its confirmation links stop working. The
        same answer whether or not one was pending (or its address was taken, when no link
        was sent): the caller learns nothing about other accounts' addresses."""
        now = self.clock()
        async with self.store.uow() as uow:
            cancelled = await uow.session.execute(
                update(EmailToken)
                .where(
                    EmailToken.user_id == principal.user_id,
                    EmailToken.purpose == CHANGE_EMAIL,
                    EmailToken.used_at.is_(None),
                    EmailToken.expires_at > now,
                )
                .values(used_at=now)
                .returning(EmailToken.id)
            )
            links = len(cancelled.all())
            if links:
                uow.publish(EmailChangeCancelled(user_id=principal.user_id, links=links))
            await uow.commit()

    async def undo_email_change(self, raw: str, new_password: str, client: ClientInfo) -> None:
        """Put the account back on the address the undo link was sent to, with a new
        password; end every session, revoke every API key and cancel every other pending
        link, so whoever moved the account keeps nothing. A second factor is left alone
        (like a reset, the link only proves the mailbox): an administrator resets one a
        thief enrolled."""
        attempt = await self.tokens.throttled_use(client)
        async with self.store.uow() as uow:
            token = await self.tokens.consume(uow, raw, (REVERT_EMAIL,))
            user = await uow.session.get(User, token.user_id, with_for_update=True)
            if user is None or user.disabled_at is not None:
                raise invalid_email_token()
            if user.email != token.email:
                taken = await uow.session.scalar(
                    select(User.id).where(User.email == token.email, User.id != user.id)
                )
                if taken is not None:
                    raise Conflict(
                        "That address now belongs to another account.", code="email_taken"
                    )
            check_password_policy(
                new_password,
                field="newPassword",
                email=token.email,
                display_name=user.display_name,
            )
            now = self.clock()
            previous = user.email
            user.email = token.email
            user.email_verified_at = now  # the link proved the mailbox
            user.password_hash = await self.hasher.hash(new_password)
            user.password_changed_at = now
            ended = await self.sessions.revoke_where(
                uow, user_id=user.id, reason="email_change_reverted"
            )
            keys = await revoke_all_api_keys(uow, user.id, actor_id=user.id, now=self.clock())
            await self.tokens.cancel_pending(uow, user.id, undo_links_since=token.created_at)
            uow.publish(
                EmailChangeReverted(
                    actor_id=user.id,
                    user_id=user.id,
                    email=user.email,
                    previous_email=previous,
                    sessions_ended=len(ended),
                    api_keys_revoked=keys,
                )
            )
            self.mail.notice(uow, "email_change_reverted", user, api_keys_revoked=keys, when=now)
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        await self.tokens.throttle.succeeded(attempt)
