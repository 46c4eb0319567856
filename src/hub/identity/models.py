"""Tables of the identity context, all in the ``identity`` PostgreSQL schema.

Secrets are never stored in a usable form: passwords as argon2id hashes, bearer tokens
as SHA-256 of 256-bit randoms, recovery codes and API-key secrets as keyed hashes, and
what must be read back (TOTP secrets, signing keys) sealed with AES-GCM under keys
derived from HUB_SECRET_KEY (or a previous key, until ``hub secrets rotate`` re-seals it).
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
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.kernel.outbox import inbox_table, outbox_table
from hub.kernel.schema import (
    IdMixin,
    TimestampMixin,
    context_metadata,
    owned_by,
    timestamp,
    utcnow,
)


class Base(DeclarativeBase):
    metadata = context_metadata("identity")


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)


_ts = timestamp


def _user_fk() -> Any:
    return owned_by("identity.users.id")


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

    # The derived flags a read selects as labelled columns (repositories.users).
    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


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
    #: "Firefox on Windows": the browser and system the User-Agent names (domain/devices);
    #: null on sessions opened before devices were named.
    device: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoked_at: Mapped[datetime | None] = _ts()
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class RefreshToken(IdMixin, Base):
    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = owned_by("identity.sessions.id", index=True)
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

    user_id: Mapped[uuid.UUID] = owned_by("identity.users.id", primary_key=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    confirmed_at: Mapped[datetime | None] = _ts()
    #: Highest time step accepted so far: a code is accepted once (replay refused).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


def _secret_key_id() -> Any:
    """The id of the ``HUB_SECRET_KEY`` that made a keyed hash (``domain.secrets.key_id``):
    such a hash cannot be re-made without its plaintext, so ``hub secrets status`` counts
    the rows still made by a previous key. NULL: made before ids were recorded (labelled
    at the next start with no previous key configured, see ``SecretRotation``)."""
    return mapped_column(Text)


def _unlabelled(table: str) -> Index:
    """Finds the rows without a key id at once, however large the table (empty after the
    first labelling, so it costs nothing to keep)."""
    return Index(f"ix_{table}_unlabelled", "id", postgresql_where=text("secret_key_id IS NULL"))


class RecoveryCode(IdMixin, Base):
    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"), _unlabelled("recovery_codes"))

    user_id: Mapped[uuid.UUID] = _user_fk()
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    secret_key_id: Mapped[str | None] = _secret_key_id()
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


# --------------------------------------------------------------------------- organisations


class Organisation(IdMixin, TimestampMixin, Base):
    """A tenant. Its row is also the lock that serialises changes to its owners."""

    __tablename__ = "organisations"
    __table_args__ = (
        Index(
            "ix_organisations_purge_after",
            "purge_after",
            postgresql_where=text("purge_after IS NOT NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.users.id", ondelete="SET NULL")
    )
    #: Set while the organisation waits for its purge (``services.org_deletion``): it
    #: is then closed to everyone (the tenancy rule finds no membership) but its owners,
    #: who may cancel until ``purge_after``.
    deletion_scheduled_at: Mapped[datetime | None] = _ts()
    purge_after: Mapped[datetime | None] = _ts()
    deletion_requested_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_user_id", "user_id"),)

    organisation_id: Mapped[uuid.UUID] = owned_by("identity.organisations.id", primary_key=True)
    user_id: Mapped[uuid.UUID] = owned_by("identity.users.id", primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    invited_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Role(IdMixin, TimestampMixin, Base):
    """A named set of permissions in one organisation. Built-in roles store no keys: what
    they grant is a pattern over the catalogue (``domain.roles.BUILTIN_GRANTS``)."""

    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name_key"),
        UniqueConstraint("organisation_id", "builtin"),
    )

    organisation_id: Mapped[uuid.UUID] = owned_by("identity.organisations.id")
    name: Mapped[str] = mapped_column(Text, nullable=False)
    #: Case-folded name: role names are unique case-insensitively per organisation.
    name_key: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    #: "owner", "admin", "member", "auditor" for the built-ins, else NULL.
    builtin: Mapped[str | None] = mapped_column(Text)
    permissions: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, default=list, server_default="{}"
    )


class MemberRole(Base):
    __tablename__ = "member_roles"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organisation_id", "user_id"],
            ["identity.memberships.organisation_id", "identity.memberships.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_member_roles_role_id", "role_id"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    #: RESTRICT: a role still held by someone cannot be deleted from under them.
    role_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("identity.roles.id", ondelete="RESTRICT"),
        primary_key=True,
    )


class Invitation(IdMixin, Base):
    """An e-mailed, single-use, expiring invitation; the token is stored as SHA-256."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_organisation_id_email", "organisation_id", "email"),)

    organisation_id: Mapped[uuid.UUID] = owned_by("identity.organisations.id")
    #: Normalised address: only the account with this address may accept.
    email: Mapped[str] = mapped_column(Text, nullable=False)
    role_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    accepted_at: Mapped[datetime | None] = _ts()
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    #: Set when a newer invitation to the same address supersedes this one.
    revoked_at: Mapped[datetime | None] = _ts()


class ApiKey(IdMixin, Base):
    """A machine credential acting for its owner, narrowed to ``permissions``; bound to
    one organisation when ``organisation_id`` is set (a service-account key)."""

    __tablename__ = "api_keys"
    __table_args__ = (
        Index("ix_api_keys_user_id", "user_id"),
        Index("ix_api_keys_organisation_id", "organisation_id"),
        _unlabelled("api_keys"),
    )

    user_id: Mapped[uuid.UUID] = _user_fk()
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.organisations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    public_id: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    secret_key_id: Mapped[str | None] = _secret_key_id()
    permissions: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    expires_at: Mapped[datetime | None] = _ts()
    #: Refreshed at most once a minute per key (HUB_API_KEY_TOUCH_SECONDS).
    last_used_at: Mapped[datetime | None] = _ts()
    revoked_at: Mapped[datetime | None] = _ts()
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Passkey(IdMixin, Base):
    """A WebAuthn credential (passkey) of a user: its public key (COSE) and the signature
    counter its authenticator reported last, so a cloned authenticator's counter going
    backwards is noticed and refused."""

    __tablename__ = "passkeys"
    __table_args__ = (Index("ix_passkeys_user_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = _user_fk()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: Transports the browser reported at registration ("internal", "usb", "hybrid" …).
    transports: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, default=list, server_default="{}"
    )
    aaguid: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    #: Synced (multi-device) passkey, and whether it is backed up now.
    multi_device: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    backed_up: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    last_used_at: Mapped[datetime | None] = _ts()


# --------------------------------------------------------------------------- single sign-on


class IdentityProvider(IdMixin, TimestampMixin, Base):
    """An OpenID Connect provider people sign in through: an organisation's (its members'
    company directory) or the platform's (``organisation_id`` NULL). The client id and
    secret are sealed (``IdentitySecrets.sso_clients``, bound to the row's id); the
    endpoints come from the issuer's discovery document, read when the row is saved."""

    __tablename__ = "identity_providers"
    __table_args__ = (Index("ix_identity_providers_organisation_id", "organisation_id"),)

    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.organisations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    issuer: Mapped[str] = mapped_column(Text, nullable=False)
    client_id_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    client_secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: authorization_endpoint, token_endpoint, jwks_uri and the signing algorithms.
    endpoints: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    #: Addresses at these domains get an account (and a membership) on first sign-in.
    email_domains: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, default=list, server_default="{}"
    )
    #: The role of a member made on first sign-in; NULL: the built-in member role.
    default_role_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.roles.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=text("true")
    )


class SsoIdentity(IdMixin, Base):
    """An account linked to a provider's subject: signing in through that provider with
    that ``sub`` signs into the account. Made on first sign-in of a new account, or when
    the account's owner confirmed the link."""

    __tablename__ = "sso_identities"
    __table_args__ = (
        UniqueConstraint("provider_id", "subject"),
        Index("ix_sso_identities_user_id", "user_id"),
    )

    provider_id: Mapped[uuid.UUID] = owned_by("identity.identity_providers.id")
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    user_id: Mapped[uuid.UUID] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    last_used_at: Mapped[datetime | None] = _ts()


class OrganisationDomain(IdMixin, TimestampMixin, Base):
    """A domain an organisation claims, and once a DNS TXT record proved it, owns: only
    then may its identity providers make accounts for addresses there. A domain is
    claimed by any number of organisations but verified by one at most."""

    __tablename__ = "organisation_domains"
    __table_args__ = (
        UniqueConstraint("organisation_id", "domain"),
        Index(
            "uq_organisation_domains_verified_domain",
            "domain",
            unique=True,
            postgresql_where=text("verified_at IS NOT NULL"),
        ),
    )

    organisation_id: Mapped[uuid.UUID] = owned_by("identity.organisations.id")
    #: Lower-case, in its Unicode form (as addresses are stored).
    domain: Mapped[str] = mapped_column(Text, nullable=False)
    #: The value the TXT record must hold: published, so not a secret.
    token: Mapped[str] = mapped_column(Text, nullable=False)
    verified_at: Mapped[datetime | None] = _ts()


class SsoSession(Base):
    """A hub session signed in through an identity provider, with the provider's subject
    and session (``sid``): what a back-channel logout from that provider ends, and what
    an RP-initiated logout sends it."""

    __tablename__ = "sso_sessions"
    __table_args__ = (
        Index("ix_sso_sessions_provider_id_subject", "provider_id", "subject"),
        Index("ix_sso_sessions_provider_id_provider_session", "provider_id", "provider_session"),
    )

    session_id: Mapped[uuid.UUID] = owned_by("identity.sessions.id", primary_key=True)
    provider_id: Mapped[uuid.UUID] = owned_by("identity.identity_providers.id")
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    provider_session: Mapped[str | None] = mapped_column(Text)
    #: The ID token of the sign-in, sealed (context: the session id): the hint an
    #: RP-initiated logout sends the provider. Dropped when the hub session ends.
    id_token_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class SsoPolicy(Base):
    """An organisation that requires its members to sign in through its provider."""

    __tablename__ = "sso_policies"

    organisation_id: Mapped[uuid.UUID] = owned_by("identity.organisations.id", primary_key=True)
    required: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
