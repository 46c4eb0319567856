"""Single-use tokens sent by e-mail (address verification, address change, password
reset, undoing an address change): stored as hashes, consumed atomically, and their use
throttled per client address.

Every token but the undo link is bound to the password it was issued under (and cancelled
outright when the password changes or is reset): a thief who briefly held a session, or a
squatter who registered someone else's address, keeps no working link once the owner
sets a new password. The undo link of an address change is deliberately *not* bound: it
goes to the old address so its owner can take the account back even after the thief
changed the password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from hub.identity.domain.secrets import IdentitySecrets, new_token, token_hash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import EmailToken
from hub.identity.repositories.users import UserRecord
from hub.identity.services.mfa import publish_lock
from hub.identity.services.throttle import Attempt, Throttle
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Invalid
from hub.kernel.problems import refusal
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

VERIFY_EMAIL = "verify_email"
CHANGE_EMAIL = "change_email"
RESET_PASSWORD = "reset_password"  # noqa: S105
REVERT_EMAIL = "revert_email"
EMAIL_TOKEN_PREFIX = "hub_et_"  # noqa: S105


#: 422: the token is well formed but not one that works (unknown, expired, used, or bound to
#: a password that changed); see hub.kernel.openapi for 400 versus 422.
invalid_email_token = refusal(
    Invalid, "The link is invalid, expired or was already used.", code="invalid_token"
)


@dataclass(eq=False)
class EmailTokens:
    store: Store
    settings: IdentitySettings
    secrets: IdentitySecrets
    throttle: Throttle
    clock: Clock

    def binding(self, password_hash: str) -> bytes:
        return self.secrets.binding.digest(password_hash)

    def binding_matches(self, stored: bytes | None, password_hash: str) -> bool:
        """Whether a token was issued under this password hash, by any configured key
        (``hub secrets rotate`` re-binds pending tokens to the current key)."""
        return stored is not None and (
            self.secrets.binding.matching_key(password_hash, stored) is not None
        )

    def issue(
        self,
        uow: UnitOfWork,
        user: UserRecord,
        purpose: str,
        *,
        email: str,
        ttl_seconds: int,
        bound: bool = True,
    ) -> str:
        """A new token; ``bound=False`` (undo links only) survives password changes."""
        raw = new_token(EMAIL_TOKEN_PREFIX)
        now = self.clock()
        uow.session.add(
            EmailToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=token_hash(raw),
                email=email,
                binding=self.binding(user.password_hash) if bound else None,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds),
            )
        )
        return raw

    async def consume(self, uow: UnitOfWork, raw: str, purposes: tuple[str, ...]) -> EmailToken:
        """Mark an e-mail token used, atomically: two concurrent uses cannot both succeed."""
        now = self.clock()
        token: EmailToken | None = await uow.session.scalar(
            update(EmailToken)
            .where(
                EmailToken.token_hash == token_hash(raw),
                EmailToken.purpose.in_(purposes),
                EmailToken.used_at.is_(None),
                EmailToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(EmailToken)
        )
        if token is None:
            raise invalid_email_token()
        return token

    def require_binding(self, token: EmailToken, password_hash: str) -> None:
        """Refuse a bound token once the password it was issued under has changed."""
        if not self.binding_matches(token.binding, password_hash):
            raise invalid_email_token()

    async def cancel_pending(
        self, uow: UnitOfWork, user_id: uuid.UUID, *, undo_links_since: datetime | None = None
    ) -> None:
        """Mark every unused token of ``user_id`` used: after a password change or reset no
        verification, address-change or reset link issued before it works any more.

        Undo links survive (a thief who knows the password must not be able to cancel the
        owner's way back) except, when an undo link is being used, those issued at or
        after ``undo_links_since``: the oldest undo wins, so a thief who moved the account
        twice cannot use the undo link of the second move to undo the owner's undo."""
        keep_undo = EmailToken.purpose != REVERT_EMAIL
        if undo_links_since is not None:
            keep_undo = or_(keep_undo, EmailToken.created_at >= undo_links_since)
        await uow.session.execute(
            update(EmailToken)
            .where(EmailToken.user_id == user_id, EmailToken.used_at.is_(None), keep_undo)
            .values(used_at=self.clock())
        )

    async def throttled_use(self, client: ClientInfo) -> Attempt:
        throttle = self.throttle
        attempt = await throttle.acquire(throttle.ip(client.ip))
        if not attempt.allowed:
            await publish_lock(self.store, attempt, user_id=None, email=None, ip=client.ip)
            raise invalid_email_token()
        return attempt

    def address_token(self, uow: UnitOfWork, user: UserRecord, purpose: str, email: str) -> str:
        """A token proving ``email``: a new account's address, or the new one of a change."""
        ttl = self.settings.email_verification_ttl_seconds
        return self.issue(uow, user, purpose, email=email, ttl_seconds=ttl)

    def reset_token(self, uow: UnitOfWork, user: UserRecord) -> str:
        """A password-reset token for ``user``'s current address, bound to its password."""
        return self.issue(
            uow,
            user,
            RESET_PASSWORD,
            email=user.email,
            ttl_seconds=self.settings.password_reset_ttl_seconds,
        )

    def undo_token(self, uow: UnitOfWork, user: UserRecord, *, old_email: str) -> str | None:
        """An undo link for an address change, for ``old_email``; None when undo links are
        off (``HUB_EMAIL_CHANGE_UNDO_TTL_SECONDS=0``)."""
        ttl = self.settings.email_change_undo_ttl_seconds
        if ttl <= 0:
            return None
        return self.issue(uow, user, REVERT_EMAIL, email=old_email, ttl_seconds=ttl, bound=False)
