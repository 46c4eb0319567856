"""Sending the address-verification link again, to an account that has not confirmed yet.

The caller learns nothing: the endpoint answers before this runs (like forgot-password),
so neither the body nor the timing tells whether the address has an account, is verified
already, or was throttled. Each address gets at most ``RESEND_LIMIT`` mails per
``RESEND_WINDOW_SECONDS`` (counted in Redis for every address asked about, known or not),
so the endpoint cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis
from sqlalchemy import delete

from hub.identity.domain.emails import is_valid_email, normalise_email
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import EmailToken
from hub.identity.repositories.users import user_by_email
from hub.identity.services.email_tokens import VERIFY_EMAIL, EmailTokens
from hub.identity.services.mail import IdentityMail
from hub.kernel.store import Store

RESEND_LIMIT = 3
RESEND_WINDOW_SECONDS = 3600
_KEY_PREFIX = "hub:resend-verification:"


def resend_counter_key(normalised_email: str) -> str:
    """The Redis counter of one address (a digest: no address is stored in Redis)."""
    return _KEY_PREFIX + hashlib.sha256(normalised_email.encode("utf-8")).hexdigest()[:32]


class ResendVerification:
    def __init__(
        self,
        store: Store,
        settings: IdentitySettings,
        redis: Redis,
        mail: IdentityMail,
        tokens: EmailTokens,
    ) -> None:
        self.store = store
        self.settings = settings
        self.redis = redis
        self.mail = mail
        self.tokens = tokens

    async def _allowed(self, email: str) -> bool:
        """Count one request for ``email``; False once it is over the limit. The window
        starts at the first request (``SET NX EX`` then ``INCR`` keeps that expiry)."""
        key = resend_counter_key(email)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, nx=True, ex=RESEND_WINDOW_SECONDS)
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count) <= RESEND_LIMIT

    async def resend(self, email_raw: str) -> None:
        """Mail a new verification link to an unverified, enabled account; the links
        sent before stop working (only the newest one is live)."""
        email = normalise_email(email_raw)
        if not is_valid_email(email) or not await self._allowed(email):
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
            token = self.tokens.issue(
                uow,
                user,
                VERIFY_EMAIL,
                email=user.email,
                ttl_seconds=self.settings.email_verification_ttl_seconds,
            )
            self.mail.verify_email(uow, to=user.email, display_name=user.display_name, token=token)
            await uow.commit()
