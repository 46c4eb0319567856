"""Public interface of the identity context.

Everything another context may use of identity lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events identity publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
identity service can ship this module unchanged as its client contract.

Authentication itself needs no call into identity: ``hub.kernel.security`` verifies access
tokens with identity's public keys and yields a ``Principal``. Use :class:`IdentityApi`
for what a token does not carry: whether the user still exists and is active, and how to
show them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Protocol

import msgspec

from hub.kernel.events import IntegrationEvent

# --------------------------------------------------------------------------- DTOs


class UserSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A user as another context may rely on it (only active users are resolved)."""

    id: uuid.UUID
    email: str
    display_name: str
    email_verified: bool
    is_platform_admin: bool
    mfa_enabled: bool
    created_at: datetime


class UserDisplay(msgspec.Struct, frozen=True, kw_only=True):
    """What a UI shows for a user id (author of a document, sender of a message)."""

    id: uuid.UUID
    display_name: str
    email: str
    active: bool


class IdentityApi(Protocol):
    async def resolve_principal(self, user_id: uuid.UUID) -> UserSummary | None:
        """The active user behind a principal; None when unknown or disabled."""
        ...

    async def display_info(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserDisplay]:
        """Display data for each known id (unknown ids are absent from the answer)."""
        ...


# --------------------------------------------------------------------------- events


class IdentityEvent(IntegrationEvent, kw_only=True, frozen=True):
    aggregate_field: ClassVar[str | None] = "user_id"


class UserRegistered(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.user_registered"
    user_id: uuid.UUID
    email: str
    display_name: str


class UserEmailVerified(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.user_verified"
    user_id: uuid.UUID
    email: str


class UserDisabled(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.user_disabled"
    user_id: uuid.UUID
    sessions_ended: int


class LoginSucceeded(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.login_succeeded"
    user_id: uuid.UUID
    session_id: uuid.UUID
    methods: list[str]
    ip: str
    user_agent: str


class LoginFailed(IdentityEvent, kw_only=True, frozen=True):
    """A secret was checked and was wrong (refusals by a lockout are not evaluations)."""

    event_type: ClassVar[str] = "identity.login_failed"
    aggregate_field: ClassVar[str | None] = None
    #: None when the address belongs to no account.
    user_id: uuid.UUID | None
    email: str | None
    #: "invalid_password", "unknown_account", "invalid_otp", "invalid_recovery_code".
    reason: str
    ip: str


class LoginLocked(IdentityEvent, kw_only=True, frozen=True):
    """A brute-force counter crossed its threshold and locked."""

    event_type: ClassVar[str] = "identity.login_locked"
    aggregate_field: ClassVar[str | None] = None
    user_id: uuid.UUID | None
    email: str | None
    #: "account", "mfa" or "ip".
    scope: str
    ip: str
    locked_seconds: int


class PasswordChanged(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.password_changed"
    user_id: uuid.UUID
    sessions_ended: int


class PasswordReset(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.password_reset"
    user_id: uuid.UUID
    sessions_ended: int


class MfaEnabled(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.mfa_enabled"
    user_id: uuid.UUID
    method: str


class MfaDisabled(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.mfa_disabled"
    user_id: uuid.UUID
    method: str


class SessionRevoked(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.session_revoked"
    user_id: uuid.UUID
    session_id: uuid.UUID
    #: "logout", "revoked_by_user", "refresh_token_reuse", "password_changed",
    #: "password_reset", "user_disabled".
    reason: str
