"""Tables of the identity context, all in the ``identity`` PostgreSQL schema.

Secrets are never stored in a usable form: passwords as argon2id hashes, bearer tokens
as SHA-256 of 256-bit randoms, recovery codes as keyed hashes, and what must be read back
(TOTP secrets, signing keys) sealed with AES-GCM under keys derived from HUB_SECRET_KEY.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import IdMixin, TimestampMixin, context_metadata, utcnow


class Base(DeclarativeBase):
    metadata = context_metadata("identity")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)


def _ts(*, nullable: bool = True) -> Any:
    return mapped_column(DateTime(timezone=True), nullable=nullable)


def _user_fk() -> Any:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.users.id", ondelete="CASCADE"), nullable=False
    )


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    #: Normalised (see domain.emails): unique means unique case-insensitively.
    email: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    email_verified_at: Mapped[datetime | None] = _ts()
    disabled_at: Mapped[datetime | None] = _ts()
    mfa_enabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    is_platform_admin: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )


class Session(IdMixin, Base):
    """A signed-in device; also the refresh-token family (revoking it ends the family)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    #: Last interactive proof of a secret (login, second factor, re-authentication).
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: Comma-separated RFC 8176 methods, e.g. "pwd,otp".
    amr: Mapped[str] = mapped_column(Text, nullable=False)
    user_agent: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    ip: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    revoked_at: Mapped[datetime | None] = _ts()
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class RefreshToken(IdMixin, Base):
    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("identity.sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    rotated_at: Mapped[datetime | None] = _ts()
    #: The successor token, sealed with a key derived from *this* token, so a concurrent
    #: caller presenting this token within the grace window gets the same successor.
    successor_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class EmailToken(IdMixin, Base):
    """Single-use tokens sent by e-mail: address verification and password reset."""

    __tablename__ = "email_tokens"
    __table_args__ = (Index("ix_email_tokens_user_id_purpose", "user_id", "purpose"),)

    user_id: Mapped[uuid.UUID] = _user_fk()
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, unique=True)
    #: The address the token was sent to (a new address, for an e-mail change).
    email: Mapped[str] = mapped_column(Text, nullable=False)
    #: Fingerprint of the password hash at issue: a reset token dies with the password.
    binding: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = _ts()


class TotpCredential(Base):
    __tablename__ = "totp_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("identity.users.id", ondelete="CASCADE"),
        primary_key=True,
    )
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    confirmed_at: Mapped[datetime | None] = _ts()
    #: Highest time step accepted so far: a code is accepted once (replay refused).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(IdMixin, Base):
    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    user_id: Mapped[uuid.UUID] = _user_fk()
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    used_at: Mapped[datetime | None] = _ts()


class SigningKey(Base):
    """Access-token signing keys. The newest unretired one signs; retired ones keep
    verifying (and stay in the JWKS) until every token they signed has expired."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(Text, primary_key=True)
    algorithm: Mapped[str] = mapped_column(Text, nullable=False)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    retired_at: Mapped[datetime | None] = _ts()
