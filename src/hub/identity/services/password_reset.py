"""Changing a password (knowing the current one) and resetting a forgotten one by e-mail.

A reset request for an unknown address simply sends nothing, answered the same. A reset is
also how someone takes an account back from a thief, so it ends every session and revokes
every API key of the account: nothing the thief set up outlives the thief's password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import update

from hub.identity.api import (
    PasswordChanged,
    PasswordReset,
    UserEmailVerified,
)
from hub.identity.domain.accounts import check_password_policy
from hub.identity.domain.emails import is_valid_email, normalise_email
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import User
from hub.identity.repositories.users import user_by_email, user_by_id
from hub.identity.services.apikeys import revoke_all_api_keys
from hub.identity.services.auth import AuthService
from hub.identity.services.email_tokens import (
    RESET_PASSWORD,
    EmailTokens,
    invalid_email_token,
)
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mail_limits import MailLimits
from hub.identity.services.passwords import PasswordHasher
from hub.identity.services.sessions import SessionService
from hub.identity.services.throttle import Throttle
from hub.kernel.clock import Clock
from hub.kernel.errors import Unauthorized
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo


@dataclass(eq=False)
class PasswordService:
    store: Store
    settings: IdentitySettings
    hasher: PasswordHasher
    throttle: Throttle
    mail: IdentityMail
    sessions: SessionService
    auth: AuthService
    tokens: EmailTokens
    limits: MailLimits
    clock: Clock

    async def change_password(
        self,
        principal: Principal,
        current: str,
        new: str,
        client: ClientInfo,
        *,
        end_other_sessions: bool,
    ) -> int:
        user = await user_by_id(self.store, principal.user_id)
        if user is None:
            raise Unauthorized("The account is not available.", code="invalid_token")
        try:
            await self.auth.check_password(user.email, current, client)
        except Unauthorized:
            raise Unauthorized(
                "The current password is wrong.", code="invalid_current_password"
            ) from None
        check_password_policy(
            new, field="newPassword", email=user.email, display_name=user.display_name
        )
        new_hash = await self.hasher.hash(new)
        now = self.clock()
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(User)
                .where(User.id == user.id)
                .values(password_hash=new_hash, password_changed_at=now)
            )
            ended: list[uuid.UUID] = []
            if end_other_sessions:
                ended = await self.sessions.revoke_where(
                    uow, user_id=user.id, reason="password_changed", keep=principal.session_id
                )
            # Links mailed under the old password (an address change someone with this
            # session asked for, a reset) stop working; undo links stay.
            await self.tokens.cancel_pending(uow, user.id)
            uow.publish(
                PasswordChanged(actor_id=user.id, user_id=user.id, sessions_ended=len(ended))
            )
            self.mail.notice(uow, "password_changed", user, how="changed", when=now)
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        return len(ended)

    async def forgot_password(self, email_raw: str) -> None:
        """Runs after the response is sent (see the controller), so its timing leaks nothing."""
        email = normalise_email(email_raw)
        # The mailbox's budget is spent before the lookup, for unknown addresses too.
        if not is_valid_email(email) or not await self.limits.allows(email):
            return
        user = await user_by_email(self.store, email)
        if user is None or user.disabled_at is not None:
            return
        async with self.store.uow() as uow:
            token = self.tokens.reset_token(uow, user)
            self.mail.with_link(
                uow, "password_reset", to=user.email, display_name=user.display_name, token=token
            )
            await uow.commit()

    async def reset_password(self, raw: str, new: str, client: ClientInfo) -> None:
        """Set a new password from an e-mailed token. Signs nobody in: with a second factor
        on, the next sign-in still asks for it, so a reset never bypasses MFA."""
        attempt = await self.tokens.throttled_use(client)
        async with self.store.uow() as uow:
            token = await self.tokens.consume(uow, raw, (RESET_PASSWORD,))
            user = await uow.session.get(User, token.user_id, with_for_update=True)
            if user is None or user.disabled_at is not None or user.email != token.email:
                raise invalid_email_token()
            # The password changed since the link was sent.
            self.tokens.require_binding(token, user.password_hash)
            check_password_policy(
                new, field="newPassword", email=user.email, display_name=user.display_name
            )
            # Hashing holds the row lock ~50 ms; acceptable for a rare, token-gated action.
            now = self.clock()
            user.password_hash = await self.hasher.hash(new)
            user.password_changed_at = now
            newly_verified = user.email_verified_at is None
            user.email_verified_at = user.email_verified_at or now
            ended = await self.sessions.revoke_where(uow, user_id=user.id, reason="password_reset")
            keys = await revoke_all_api_keys(uow, user.id, actor_id=user.id, now=self.clock())
            await self.tokens.cancel_pending(uow, user.id)
            uow.publish(
                PasswordReset(
                    actor_id=user.id,
                    user_id=user.id,
                    sessions_ended=len(ended),
                    api_keys_revoked=keys,
                )
            )
            if newly_verified:
                uow.publish(UserEmailVerified(actor_id=user.id, user_id=user.id, email=user.email))
            self.mail.notice(
                uow, "password_changed", user, how="reset", when=now, api_keys_revoked=keys
            )
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        await self.throttle.succeeded(attempt)
