"""Registration and address verification.

Registering a taken address answers the same as a free one and e-mails the address's owner
instead, with a reset link. When the account on that address was never verified (someone
may have registered another person's address first), its password is also made unusable
and its pending links cancelled: the squatter's password can then never become valid, not
even if the owner clicks the confirmation link the squatter's sign-up sent them; the owner
takes the account over with the reset link. Later registrations leave it so, so a squatter
registering again cannot kill the owner's reset link."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.identity.api import (
    EmailChanged,
    UserEmailVerified,
    UserRegistered,
)
from hub.identity.domain.accounts import check_password_policy, clean_display_name, clean_email
from hub.identity.domain.passwords import is_unusable, unusable
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import User
from hub.identity.repositories.users import user_by_email
from hub.identity.services.email_tokens import (
    CHANGE_EMAIL,
    VERIFY_EMAIL,
    EmailTokens,
    invalid_email_token,
)
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mail_limits import MailLimits
from hub.identity.services.passwords import PasswordHasher
from hub.identity.services.throttle import Throttle
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo


@dataclass(eq=False)
class RegistrationService:
    store: Store
    settings: IdentitySettings
    hasher: PasswordHasher
    throttle: Throttle
    mail: IdentityMail
    tokens: EmailTokens
    limits: MailLimits
    clock: Clock

    async def register(self, email_raw: str, password: str, display_name_raw: str) -> None:
        email = clean_email(email_raw)
        display_name = clean_display_name(display_name_raw)
        check_password_policy(password, field="password", email=email, display_name=display_name)
        # Every outcome mails the address, so its mailbox's budget is spent first, before
        # the lookup (known and unknown addresses alike) and before the argon2 hash: a
        # spent budget drops the whole sign-up behind the same 202, at no hashing cost.
        if not await self.limits.allows(email):
            return
        # Hash before looking the address up: both outcomes pay for one argon2 hash.
        password_hash = await self.hasher.hash(password)
        existing = await user_by_email(self.store, email)
        if existing is None:
            try:
                await self._create(email, display_name, password_hash)
                return
            except IntegrityError:  # registered concurrently: treat as taken
                existing = await user_by_email(self.store, email)
                if existing is None:
                    raise
        async with self.store.uow() as uow:
            user = await uow.session.get(User, existing.id, with_for_update=True)
            if user is None:  # deleted meanwhile: nothing to tell anyone
                return
            if user.email_verified_at is None and not is_unusable(user.password_hash):
                user.password_hash = unusable(password_hash)
                await self.tokens.cancel_pending(uow, user.id)
            token = self.tokens.reset_token(uow, user)
            self.mail.with_link(
                uow, "account_exists", to=user.email, display_name=user.display_name, token=token
            )
            await uow.commit()

    async def _create(self, email: str, display_name: str, password_hash: str) -> None:
        async with self.store.uow() as uow:
            user = User(email=email, display_name=display_name, password_hash=password_hash)
            uow.session.add(user)
            await uow.session.flush()
            token = self.tokens.address_token(uow, user, VERIFY_EMAIL, email)
            self.mail.with_link(
                uow, "verify_email", to=email, display_name=display_name, token=token
            )
            uow.publish(
                UserRegistered(
                    actor_id=user.id, user_id=user.id, email=email, display_name=display_name
                )
            )
            await uow.commit()

    async def verify_email(self, raw: str, client: ClientInfo) -> None:
        attempt = await self.tokens.throttled_use(client)
        async with self.store.uow() as uow:
            token = await self.tokens.consume(uow, raw, (VERIFY_EMAIL, CHANGE_EMAIL))
            user = await uow.session.get(User, token.user_id, with_for_update=True)
            if user is None:
                raise invalid_email_token()
            # Issued under another password: a thief's change link dies with the owner's
            # reset, a squatter's verification link once the address is claimed back.
            self.tokens.require_binding(token, user.password_hash)
            now = self.clock()
            if token.purpose == CHANGE_EMAIL:
                taken = await uow.session.scalar(
                    select(User.id).where(User.email == token.email, User.id != user.id)
                )
                if taken is not None:
                    raise Conflict(
                        "That address now belongs to another account.", code="email_taken"
                    )
                old_email, user.email = user.email, token.email
                user.email_verified_at = now
                self.mail.notice(
                    uow,
                    "email_changed",
                    user,
                    to=old_email,
                    new_email=user.email,
                    undo_token=self.tokens.undo_token(uow, user, old_email=old_email),
                    when=now,
                )
                uow.publish(
                    EmailChanged(
                        actor_id=user.id,
                        user_id=user.id,
                        old_email=old_email,
                        new_email=user.email,
                    )
                )
            elif user.email != token.email:
                raise invalid_email_token()
            user.email_verified_at = user.email_verified_at or now
            uow.publish(UserEmailVerified(actor_id=user.id, user_id=user.id, email=user.email))
            await uow.commit()
        await self.throttle.succeeded(attempt)

    async def create_verified_user(
        self, email_raw: str, password: str, display_name_raw: str, *, platform_admin: bool
    ) -> uuid.UUID:
        """An operator's shortcut (``hub users create``): no e-mail round trip."""
        email = clean_email(email_raw)
        display_name = clean_display_name(display_name_raw)
        check_password_policy(password, field="password", email=email, display_name=display_name)
        password_hash = await self.hasher.hash(password)
        now = self.clock()
        async with self.store.uow() as uow:
            taken = await uow.session.scalar(select(User.id).where(User.email == email))
            if taken is not None:
                raise Conflict("An account already uses this address.", code="email_taken")
            user = User(
                email=email,
                display_name=display_name,
                password_hash=password_hash,
                email_verified_at=now,
                is_platform_admin=platform_admin,
            )
            uow.session.add(user)
            await uow.session.flush()
            uow.publish(UserRegistered(user_id=user.id, email=email, display_name=display_name))
            uow.publish(UserEmailVerified(user_id=user.id, email=email))
            await uow.commit()
        return user.id
