"""Limits on the mail identity sends where a caller names the recipient, and on invitations.

The route buckets (``auth``, ``sends``) bound what one *client* can ask for. These bound
what one *mailbox* can be made to receive, however many clients ask, and how many
invitations one organisation can send (an organisation's and an inviter's names sit in the
invitation's subject and text, so without a cap the hub relays whatever spam they spell).
They are the kernel's keyed limits (:meth:`hub.kernel.ratelimit.RateLimiter.hit`), shared
by every process, keys hashed in Redis.

One budget per mailbox (:func:`~hub.identity.domain.emails.mailbox_key`) covers every mail
a stranger can trigger: verification, resent verification, password reset, "you already
have an account", invitation, confirming a new address. It is spent *before* anything
looks the address up, for addresses with and without an account alike, so being limited
says nothing about whether an account exists. Where the answer must not change (register,
forgot-password, resend-verification answer 202 whatever happens) a spent budget silently
drops the mail (:meth:`MailLimits.allows`); a signed-in caller naming the address (an
invitation, an e-mail change) gets the kernel's 429 (:meth:`MailLimits.spend`).

Security notices to an account's own address (password changed, second factor changed,
address changed) are never limited: spending a victim's budget must not hide them.
If Redis cannot be reached, the limits fail closed (503; a background send is dropped and
logged), as the kernel's keyed limits do.
"""

from __future__ import annotations

import uuid
from typing import Final

import structlog

from hub.identity.domain.emails import mailbox_key
from hub.identity.domain.settings import IdentitySettings
from hub.kernel.ratelimit import RateLimited, RateLimiter
from hub.kernel.settings import parse_quota

log = structlog.get_logger("hub.identity")

#: The keyed limits' names (``hub_rate_limited_total{policy}``, the 429's ``policy``).
MAIL_PER_ADDRESS: Final = "identity-mail-per-address"
INVITATIONS_PER_ORG: Final = "identity-invitations-per-org"
VERIFICATION_RESEND: Final = "identity-verification-resend"
#: Resent verification links per address: the registration mail may have been lost, but
#: more than a few an hour is a loop or a flood.
RESEND_LIMIT: Final = 3
RESEND_WINDOW_SECONDS: Final = 3600


class MailLimits:
    def __init__(self, limiter: RateLimiter, settings: IdentitySettings) -> None:
        self.limiter = limiter
        self.per_address = parse_quota(
            "HUB_RATE_LIMIT_MAIL_PER_ADDRESS", settings.rate_limit_mail_per_address
        )
        self.per_org = parse_quota(
            "HUB_RATE_LIMIT_INVITATIONS_PER_ORG", settings.rate_limit_invitations_per_org
        )

    async def spend(self, email: str) -> None:
        """One mail to ``email`` (normalised) from its mailbox's budget; 429 once used up."""
        limit, window = self.per_address
        await self.limiter.hit(MAIL_PER_ADDRESS, key=mailbox_key(email), limit=limit, window=window)

    async def allows(self, email: str) -> bool:
        """Like :meth:`spend` for the answers that must not change: False instead of the
        429, and the caller sends nothing."""
        try:
            await self.spend(email)
        except RateLimited:
            log.info("identity_mail_dropped", reason="mail_per_address")
            return False
        return True

    async def allows_resend(self, email: str) -> bool:
        """A resent verification link: at most :data:`RESEND_LIMIT` per hour per address,
        then the mailbox's budget like any other mail."""
        try:
            await self.limiter.hit(
                VERIFICATION_RESEND,
                key=mailbox_key(email),
                limit=RESEND_LIMIT,
                window=RESEND_WINDOW_SECONDS,
            )
        except RateLimited:
            log.info("identity_mail_dropped", reason="verification_resend")
            return False
        return await self.allows(email)

    async def invitation(self, organisation_id: uuid.UUID, email: str) -> None:
        """One invitation from the organisation's budget, then one mail from the
        recipient's; 429 when either is used up."""
        limit, window = self.per_org
        await self.limiter.hit(
            INVITATIONS_PER_ORG, key=organisation_id.hex, limit=limit, window=window
        )
        await self.spend(email)
