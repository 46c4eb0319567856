"""Public interface of the identity context.

Everything another context may use of identity lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events identity publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
identity service can ship this module unchanged as its client contract.

Authentication itself needs no call into identity: ``hub.kernel.security`` verifies access
tokens with identity's public keys and yields a ``Principal``. Use :class:`IdentityApi`
for what a token does not carry: whether the user still exists and is active, how to
show them, and what they may do in an organisation.

Tenancy, the rule every context follows: load the caller's :class:`Membership` of the
organisation a resource belongs to; ``None`` means the resource does not exist for this
caller (answer 404, never 403); a membership whose :meth:`Membership.allows` refuses the
permission is a 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, ClassVar, Literal, Protocol

import msgspec

from hub.kernel.contract import idempotent
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


class PermissionGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What one role grants: permission keys or ``fnmatch`` patterns (``*.read``).

    Built-in roles are patterns, so permissions a context registers later are covered
    without touching any stored role; custom roles list exact keys.
    """

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def matches(self, permission: str) -> bool:
        if not any(p == permission or fnmatchcase(permission, p) for p in self.include):
            return False
        return not any(p == permission or fnmatchcase(permission, p) for p in self.exclude)


class RoleRef(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    #: "owner", "admin", "member" or "auditor" for the built-in roles, else None.
    builtin: str | None = None


class Membership(msgspec.Struct, frozen=True, kw_only=True):
    """A caller's standing in one organisation: its roles and what they allow.

    For an API key, ``scopes`` narrows the owner's permissions to the key's own list: the
    key can never do more than its owner can do right now.
    """

    organisation_id: uuid.UUID
    user_id: uuid.UUID
    roles: tuple[RoleRef, ...]
    grants: tuple[PermissionGrant, ...]
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] | None = None

    def allows(self, permission: str) -> bool:
        if self.scopes is not None and permission not in self.scopes:
            return False
        return any(grant.matches(permission) for grant in self.grants)

    def permissions(self, catalogue: Iterable[str]) -> list[str]:
        """The keys of ``catalogue`` this membership allows, sorted."""
        return sorted(key for key in catalogue if self.allows(key))

    @property
    def is_owner(self) -> bool:
        return any(role.builtin == "owner" for role in self.roles)


class IdentityApi(Protocol):
    @idempotent
    async def resolve_principal(self, user_id: uuid.UUID) -> UserSummary | None:
        """The active user behind a principal; None when unknown or disabled."""
        ...

    @idempotent
    async def display_info(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserDisplay]:
        """Display data for each known id (unknown ids are absent from the answer)."""
        ...

    @idempotent
    async def membership(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        api_key_id: uuid.UUID | None,
    ) -> Membership | None:
        """The caller's membership, or None when the organisation does not exist for it
        (not a member, a revoked key, or a key bound to another organisation).

        ``api_key_id`` is required (the principal's, None for a person): a caller that
        forgot it would give an API key its owner's full rights."""
        ...

    @idempotent
    async def has_permission(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        permission: str,
        *,
        api_key_id: uuid.UUID | None,
    ) -> bool:
        """Shortcut for ``membership(...)`` followed by ``allows(permission)``."""
        ...

    @idempotent
    async def members_with_permission(
        self, organisation_id: uuid.UUID, permission: str
    ) -> list[uuid.UUID]:
        """Active members whose roles allow ``permission`` (e.g. who to notify)."""
        ...

    @idempotent
    async def members_with_role(self, organisation_id: uuid.UUID, role: str) -> list[uuid.UUID]:
        """Active members holding a role, named by id or (case-insensitively) by name."""
        ...

    @idempotent
    async def members_of(self, organisation_id: uuid.UUID) -> list[uuid.UUID]:
        """Every active member of the organisation, by user id (e.g. to notify everyone)."""
        ...

    @idempotent
    async def organisations_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """The organisations a user is a member of."""
        ...

    @idempotent
    async def roles_of(self, organisation_id: uuid.UUID) -> list[RoleRef]:
        """The organisation's roles, built-in and custom (e.g. to check a role id another
        context stores, such as a document shared with a role)."""
        ...


class ApiKeyHolder(msgspec.Struct, frozen=True, kw_only=True):
    """Who an API key authenticates: its owner, the key, and the organisation it is bound
    to (None for a personal key)."""

    user_id: uuid.UUID
    api_key_id: uuid.UUID
    organisation_id: uuid.UUID | None = None


class IdentityAuthentication(Protocol):
    """What a process that does not run identity needs to authenticate requests itself:
    the public keys access tokens are verified with, and API-key resolution."""

    @idempotent
    async def verification_keys(self) -> list[dict[str, Any]]:
        """The public JWKs (ES256/EdDSA) identity signs access tokens with, rotated ones
        included while their tokens may still be valid."""
        ...

    async def api_key_holder(self, key: str, client_ip: str) -> ApiKeyHolder | None:
        """The holder of an API key, or None when it is unknown, revoked or expired.
        Failures count towards ``client_ip``'s lockout (so not retried: not idempotent)."""
        ...


# --------------------------------------------------------------------------- configuration


class OrganisationRef(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str


class RoleSetting(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"
):
    """A custom role as configuration (a domain pack's ``roles.yaml`` entry), known by
    its name: applying it creates the role or brings its description and keys in line."""

    name: str
    description: str = ""
    permissions: tuple[str, ...]


#: What applying one setting did.
SettingChange = Literal["created", "updated", "unchanged"]


class IdentityConfigApi(Protocol):
    """An organisation's roles as configuration (domain packs, export/import).

    Writes act for ``actor_id`` (recorded on the events) without the no-escalation rule:
    the caller (a platform administrator, the ``hub`` command) answers for them.
    """

    @idempotent
    async def organisations_named(self, ref: str) -> list[OrganisationRef]:
        """The organisation with this id, else those with this name (case-insensitive)."""
        ...

    @idempotent
    async def role_problems(self, role: RoleSetting, path: str) -> list[tuple[str, str]]:
        """Every reason the role could not be applied, as ``(path, message)``: a bad or
        built-in name, a description too long, permissions outside the catalogue."""
        ...

    @idempotent
    async def custom_roles(self, organisation_id: uuid.UUID) -> list[RoleSetting]:
        """The organisation's custom roles (the built-ins are the same everywhere), by name."""
        ...

    async def put_role(
        self, organisation_id: uuid.UUID, role: RoleSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        """Create the role, or update the one of that name when it differs."""
        ...

    async def provision_user(self, email: str, display_name: str, password: str) -> uuid.UUID:
        """The account using ``email``, created (verified) when there is none."""
        ...

    async def provision_organisation(self, name: str, owner_id: uuid.UUID) -> uuid.UUID:
        """The organisation of this name the owner is in, created (they own it) if none."""
        ...

    async def provision_member(
        self, organisation_id: uuid.UUID, user_id: uuid.UUID, roles: Sequence[str]
    ) -> bool:
        """Add the user as a member holding ``roles`` (names); False if already one."""
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


class EmailChangeRequested(IdentityEvent, kw_only=True, frozen=True):
    """A signed-in user asked to move the account to ``new_email`` (published whether or
    not the address is free; the old address is told either way)."""

    event_type: ClassVar[str] = "identity.email_change_requested"
    user_id: uuid.UUID
    old_email: str
    new_email: str


class EmailChanged(IdentityEvent, kw_only=True, frozen=True):
    """The new address confirmed the change (``identity.user_verified`` follows)."""

    event_type: ClassVar[str] = "identity.email_changed"
    user_id: uuid.UUID
    old_email: str
    new_email: str


class EmailChangeCancelled(IdentityEvent, kw_only=True, frozen=True):
    """The user withdrew a pending address change: its confirmation links stopped working
    (``links``: how many were still open)."""

    event_type: ClassVar[str] = "identity.email_change_cancelled"
    user_id: uuid.UUID
    links: int


class EmailChangeReverted(IdentityEvent, kw_only=True, frozen=True):
    """The old address used its undo link: the account is back on ``email`` with a new
    password, every session ended and every API key revoked."""

    event_type: ClassVar[str] = "identity.email_change_reverted"
    user_id: uuid.UUID
    email: str
    #: The address the account was on until the undo (the same when the change was pending).
    previous_email: str
    sessions_ended: int
    api_keys_revoked: int


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
    #: "invalid_password", "unknown_account", "invalid_otp", "invalid_recovery_code",
    #: "invalid_passkey", "passkey_counter_regression" (a cloned authenticator, likely).
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
    #: The user's API keys revoked with it (each also has its ``api_key_revoked``).
    api_keys_revoked: int = 0


class MfaEnabled(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.mfa_enabled"
    user_id: uuid.UUID
    method: str


class MfaDisabled(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.mfa_disabled"
    user_id: uuid.UUID
    method: str


class MfaReset(IdentityEvent, kw_only=True, frozen=True):
    """An operator turned a user's second factor off (``actor_id``: the platform
    administrator; None from the ``hub users reset-mfa`` command)."""

    event_type: ClassVar[str] = "identity.mfa_reset"
    user_id: uuid.UUID
    method: str
    recovery_codes_deleted: int
    #: "admin_api" or "cli".
    via: str


class PasskeyRegistered(IdentityEvent, kw_only=True, frozen=True):
    """A user added a passkey (WebAuthn credential) to their account."""

    event_type: ClassVar[str] = "identity.passkey_registered"
    user_id: uuid.UUID
    passkey_id: uuid.UUID
    name: str


class PasskeyRemoved(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.passkey_removed"
    user_id: uuid.UUID
    passkey_id: uuid.UUID


class SsoLinkRemoved(IdentityEvent, kw_only=True, frozen=True):
    """A user unlinked their account from an identity provider: signing in there with
    that provider's ``subject`` no longer signs into it."""

    event_type: ClassVar[str] = "identity.sso_link_removed"
    user_id: uuid.UUID
    link_id: uuid.UUID
    provider_id: uuid.UUID


class IdentityProviderEvent(IntegrationEvent, kw_only=True, frozen=True):
    """What every event of an identity provider's administration names; its
    ``organisation_id`` is the organisation's, or None for a platform provider. Never the
    client id or secret."""

    aggregate_field: ClassVar[str | None] = "provider_id"

    provider_id: uuid.UUID
    name: str


class IdentityProviderCreated(IdentityProviderEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.sso_provider_created"
    issuer: str
    email_domains: list[str]
    enabled: bool


class IdentityProviderUpdated(IdentityProviderEvent, kw_only=True, frozen=True):
    """An administrator changed a provider: ``changed`` names the fields whose value
    changed, by their wire names (``clientSecret`` when a new secret was set)."""

    event_type: ClassVar[str] = "identity.sso_provider_updated"
    changed: list[str]
    enabled: bool


class IdentityProviderDeleted(IdentityProviderEvent, kw_only=True, frozen=True):
    """Sign-in through the provider stops; the accounts linked through it stay."""

    event_type: ClassVar[str] = "identity.sso_provider_deleted"


class SessionRevoked(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.session_revoked"
    user_id: uuid.UUID
    session_id: uuid.UUID
    #: "logout", "revoked_by_user", "refresh_token_reuse", "password_changed",
    #: "password_reset", "email_change_reverted", "user_disabled", "signed_out_everywhere",
    #: "session_expired" (maximum age), "session_idle" (idle timeout).
    reason: str


class UserErased(IdentityEvent, kw_only=True, frozen=True):
    """A person erased their account (GDPR Article 17): identity has deleted it; every
    other context now removes what is the person's own and puts ``pseudonym`` (a random
    UUID no account has) where a record must stay for others (docs/personal-data.md).

    ``actor_id`` is the pseudonym too: the event must not name the person beyond
    ``user_id`` and ``email``, which the handlers need to find their rows."""

    event_type: ClassVar[str] = "identity.user_erased"
    user_id: uuid.UUID
    email: str
    pseudonym: uuid.UUID
    #: For each organisation the person was a member of, the owner their documents and
    #: other organisation records are handed to.
    successors: dict[uuid.UUID, uuid.UUID]


class UserEnabled(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.user_enabled"
    user_id: uuid.UUID


class UserUnlocked(IdentityEvent, kw_only=True, frozen=True):
    """A platform administrator cleared the user's brute-force lockouts."""

    event_type: ClassVar[str] = "identity.user_unlocked"
    user_id: uuid.UUID


# --------------------------------------------------------------------------- organisations


class OrganisationEvent(IntegrationEvent, kw_only=True, frozen=True):
    """Events of one organisation are delivered in commit order (``organisation_id``, set
    on every one of them, is the inherited field of :class:`IntegrationEvent`)."""

    aggregate_field: ClassVar[str | None] = "organisation_id"


class OrganisationCreated(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.organisation_created"
    name: str
    created_by: uuid.UUID


class OrganisationUpdated(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.organisation_updated"
    name: str


class MemberAdded(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.member_added"
    user_id: uuid.UUID
    #: Role names at the moment of joining.
    roles: list[str]
    #: "created_organisation", "invitation" or "provisioned" (by an operator: ``hub demo``).
    via: str


class MemberRemoved(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.member_removed"
    user_id: uuid.UUID
    #: "left" or "removed".
    reason: str


class MemberRolesChanged(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.member_roles_changed"
    user_id: uuid.UUID
    roles_before: list[str]
    roles_after: list[str]


class OwnershipTransferred(OrganisationEvent, kw_only=True, frozen=True):
    """An owner handed the organisation over in one step (and became an admin)."""

    event_type: ClassVar[str] = "identity.ownership_transferred"
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID


class OrganisationDeletionScheduled(OrganisationEvent, kw_only=True, frozen=True):
    """An owner asked for the organisation's deletion: it is closed to everyone but its
    owners, who may cancel until ``purge_after``; then every context deletes its data."""

    event_type: ClassVar[str] = "identity.organisation_deletion_scheduled"
    requested_by: uuid.UUID
    purge_after: datetime
    #: Active members told by e-mail (the owner who asked included).
    members: int


class OrganisationDeletionCancelled(OrganisationEvent, kw_only=True, frozen=True):
    """An owner cancelled a scheduled deletion within the grace period: open again."""

    event_type: ClassVar[str] = "identity.organisation_deletion_cancelled"
    cancelled_by: uuid.UUID


class OrganisationPurged(IntegrationEvent, kw_only=True, frozen=True):
    """The grace period ended and identity deleted the organisation (its memberships,
    roles, invitations and bound API keys). Every context subscribes and deletes all
    rows of ``purged_organisation_id`` in its own schema (content: the blobs too).

    Published by the purge job with no ``organisation_id`` of its own (the organisation
    no longer exists): the audit trail records it in the platform chain. Handlers must be
    idempotent (a redelivery, or a second purge event for the same id, deletes nothing
    more)."""

    event_type: ClassVar[str] = "identity.organisation_purged"
    aggregate_field: ClassVar[str | None] = "purged_organisation_id"
    purged_organisation_id: uuid.UUID
    #: When the owner asked, and who.
    deletion_scheduled_at: datetime
    requested_by: uuid.UUID | None
    #: Memberships deleted with it.
    members: int


class RoleCreated(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.role_created"
    role_id: uuid.UUID
    name: str
    permissions: list[str]


class RoleUpdated(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.role_updated"
    role_id: uuid.UUID
    name: str
    permissions: list[str]


class RoleDeleted(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.role_deleted"
    role_id: uuid.UUID
    name: str


class InvitationSent(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.invitation_sent"
    invitation_id: uuid.UUID
    email: str
    roles: list[str]


class InvitationResent(OrganisationEvent, kw_only=True, frozen=True):
    """A new link replaced the old one (which stopped working) with a new expiry; the
    actor now stands behind the invitation as its inviter."""

    event_type: ClassVar[str] = "identity.invitation_resent"
    invitation_id: uuid.UUID
    email: str
    roles: list[str]


class InvitationRevoked(OrganisationEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.invitation_revoked"
    invitation_id: uuid.UUID
    email: str
    #: "revoked" (by a member managing invitations) or "inviter_not_allowed" (refused at
    #: acceptance: its inviter was removed, disabled or can no longer grant its roles).
    reason: str


class ApiKeyCreated(IdentityEvent, kw_only=True, frozen=True):
    """``organisation_id`` is set for an organisation's (service-account) key."""

    event_type: ClassVar[str] = "identity.api_key_created"
    api_key_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    permissions: list[str]


class ApiKeyRevoked(IdentityEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.api_key_revoked"
    api_key_id: uuid.UUID
    user_id: uuid.UUID


class OrganisationDomainEvent(OrganisationEvent, kw_only=True, frozen=True):
    """What every event of an organisation's domain names (services.org_domains)."""

    domain_id: uuid.UUID
    domain: str


class OrganisationDomainAdded(OrganisationDomainEvent, kw_only=True, frozen=True):
    """An organisation claimed a domain; nothing follows from it until it is verified."""

    event_type: ClassVar[str] = "identity.domain_added"


class OrganisationDomainVerified(OrganisationDomainEvent, kw_only=True, frozen=True):
    """A DNS TXT record proved the domain: the organisation's identity providers may now
    make accounts for addresses there."""

    event_type: ClassVar[str] = "identity.domain_verified"


class OrganisationDomainRemoved(OrganisationDomainEvent, kw_only=True, frozen=True):
    event_type: ClassVar[str] = "identity.domain_removed"
    #: Whether it had been verified (its providers stop making accounts there).
    was_verified: bool
