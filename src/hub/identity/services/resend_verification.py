"""Sending the address-verification link again, to an account that has not confirmed yet.

The caller learns nothing: the endpoint answers before this runs (like forgot-password),
so neither the body nor the timing tells whether the address has an account, is verified
already, or was limited. Each address gets at most ``RESEND_LIMIT`` resent links per
``RESEND_WINDOW_SECONDS``, and every one also spends the mailbox's budget shared with the
other mails (``services.mail_limits``); both are counted for every address asked about,
known or not, so the endpoint cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from hub.identity.domain.emails import is_valid_email, normalise_email
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import EmailToken
from hub.identity.repositories.users import user_by_email
from hub.identity.services.email_tokens import VERIFY_EMAIL, EmailTokens
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mail_limits import MailLimits
from hub.kernel.store import Store


@dataclass(eq=False)
class ResendVerification:
    store: Store
    settings: IdentitySettings
    limits: MailLimits
    mail: IdentityMail
    tokens: EmailTokens

    async def resend(self, email_raw: str) -> None:
        """Mail a new verification link to an unverified, enabled account; the links
        sent before stop working (only the newest one is live)."""
        email = normalise_email(email_raw)
        if not is_valid_email(email) or not await self.limits.allows_resend(email):
            return
        user = await user_by_email(self.store, email)
        if user is None or user.disabled_at is not None or user.email_verified_at is not None:
            return
        async with self.store.uow() as uow:
            await uow.session.execute(
                delete(EmailToken).where(
                    EmailToken.user_id == user.id,
                    EmailToken.purpose == VERIFY_EMAIL,
                    EmailToken.used_at.is_(None),
                )
            )
            token = self.tokens.address_token(uow, user, VERIFY_EMAIL, user.email)
            self.mail.with_link(
                uow, "verify_email", to=user.email, display_name=user.display_name, token=token
            )
            await uow.commit()
