"""Single-use tokens sent by e-mail (address verification, address change, password
reset): stored as hashes, bound to the password they were issued under, consumed
atomically, and their use throttled per client address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from hub.identity.domain.secrets import IdentitySecrets, new_token, token_hash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import EmailToken
from hub.identity.repositories.users import UserRecord
from hub.identity.services.mfa import publish_lock
from hub.identity.services.throttle import Attempt, Throttle
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Invalid
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

VERIFY_EMAIL = "verify_email"
CHANGE_EMAIL = "change_email"
RESET_PASSWORD = "reset_password"  # noqa: S105
EMAIL_TOKEN_PREFIX = "hub_et_"  # noqa: S105


def invalid_email_token() -> Invalid:
    return Invalid(
        "The link is invalid, expired or was already used.",
        code="invalid_token",
        status_code=400,
    )


class EmailTokens:
    def __init__(
        self, store: Store, settings: IdentitySettings, secrets: IdentitySecrets, throttle: Throttle
    ) -> None:
        self.store = store
        self.settings = settings
        self.secrets = secrets
        self.throttle = throttle

    def binding(self, password_hash: str) -> bytes:
        return self.secrets.binding.digest(password_hash)

    def binding_matches(self, stored: bytes | None, password_hash: str) -> bool:
        """Whether a token was issued under this password hash, by any configured key
        (``hub secrets rotate`` re-binds pending tokens to the current key)."""
        return stored is not None and (
            self.secrets.binding.matching_key(password_hash, stored) is not None
        )

    def issue(
        self, uow: UnitOfWork, user: UserRecord, purpose: str, *, email: str, ttl_seconds: int
    ) -> str:
        raw = new_token(EMAIL_TOKEN_PREFIX)
        now = datetime.now(UTC)
        uow.session.add(
            EmailToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=token_hash(raw),
                email=email,
                binding=self.binding(user.password_hash),
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds),
            )
        )
        return raw

    async def consume(self, uow: UnitOfWork, raw: str, purposes: tuple[str, ...]) -> EmailToken:
        """Mark an e-mail token used, atomically: two concurrent uses cannot both succeed."""
        now = datetime.now(UTC)
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

    async def throttled_use(self, client: ClientInfo) -> Attempt:
        throttle = self.throttle
        attempt = await throttle.acquire(throttle.ip(client.ip))
        if not attempt.allowed:
            await publish_lock(self.store, attempt, user_id=None, email=None, ip=client.ip)
            raise invalid_email_token()
        return attempt

    def reset_token(self, uow: UnitOfWork, user: UserRecord) -> str:
        """A password-reset token for ``user``'s current address, bound to its password."""
        return self.issue(
            uow,
            user,
            RESET_PASSWORD,
            email=user.email,
            ttl_seconds=self.settings.password_reset_ttl_seconds,
        )
