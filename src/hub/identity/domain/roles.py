"""Roles and permissions as rules: identity's permission keys and the built-in roles.

Built-in roles are patterns over the whole catalogue rather than stored lists, so a
permission another context registers later is covered by every organisation's owner,
admin, member and auditor without a data migration.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from hub.identity.api import PermissionGrant

ORG_READ = "identity.org.read"
ORG_UPDATE = "identity.org.update"
MEMBERS_READ = "identity.members.read"
MEMBERS_MANAGE = "identity.members.manage"
OWNERS_MANAGE = "identity.owners.manage"
INVITATIONS_MANAGE = "identity.invitations.manage"
ROLES_READ = "identity.roles.read"
ROLES_MANAGE = "identity.roles.manage"
API_KEYS_MANAGE = "identity.api_keys.manage"
SSO_MANAGE = "identity.sso.manage"

#: What identity contributes to the permission catalogue (``GET /permissions``).
PERMISSIONS: tuple[tuple[str, str], ...] = (
    (ORG_READ, "See the organisation and its settings"),
    (ORG_UPDATE, "Rename the organisation and change its settings"),
    (MEMBERS_READ, "List the members and their roles"),
    (MEMBERS_MANAGE, "Change members' roles and remove members"),
    (OWNERS_MANAGE, "Grant or take away the owner role (ownership transfer)"),
    (INVITATIONS_MANAGE, "Invite people to the organisation by e-mail"),
    (ROLES_READ, "List the roles and what they allow"),
    (ROLES_MANAGE, "Create, change and delete custom roles"),
    (API_KEYS_MANAGE, "Create and revoke the organisation's API keys (service accounts)"),
    (
        SSO_MANAGE,
        "Configure the organisation's single sign-on providers and whether SSO is required",
    ),
)

OWNER = "owner"
ADMIN = "admin"
MEMBER = "member"
AUDITOR = "auditor"

#: Reads that ordinary members do not get: audit trails are for auditors and admins.
SENSITIVE_READS: tuple[str, ...] = ("*.audit.*",)

BUILTIN_GRANTS: dict[str, PermissionGrant] = {
    OWNER: PermissionGrant(include=("*",)),
    ADMIN: PermissionGrant(include=("*",), exclude=(OWNERS_MANAGE,)),
    MEMBER: PermissionGrant(include=("*.read",), exclude=SENSITIVE_READS),
    AUDITOR: PermissionGrant(include=("*.read", "*.audit.*")),
}

BUILTIN_DESCRIPTIONS: dict[str, str] = {
    OWNER: "Everything, including granting and taking away ownership",
    ADMIN: "Everything except ownership transfer",
    MEMBER: "Read access to the organisation's resources (not its audit trail)",
    AUDITOR: "Read access to everything, the audit trail included",
}

#: Creation order: the ids of the built-ins sort in this order within an organisation.
BUILTIN_ORDER: tuple[str, ...] = (OWNER, ADMIN, MEMBER, AUDITOR)

MAX_ROLE_NAME = 60
MAX_ROLE_DESCRIPTION = 500
MAX_ORGANISATION_NAME = 120


def grant_of(builtin: str | None, permissions: Iterable[str]) -> PermissionGrant:
    """What a stored role grants: its built-in patterns, or its own list of keys."""
    if builtin is not None:
        return BUILTIN_GRANTS[builtin]
    return PermissionGrant(include=tuple(permissions))


def expand(grant: PermissionGrant, catalogue: Iterable[str]) -> list[str]:
    return sorted(key for key in catalogue if grant.matches(key))


def clean_name(raw: str) -> str:
    """Display form of a role or organisation name: NFKC, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def name_key(name: str) -> str:
    """What two role names must differ in: ``Reviewer`` and ``reviewer`` are one role."""
    return clean_name(name).casefold()


def is_builtin_name(name: str) -> bool:
    return name_key(name) in BUILTIN_GRANTS
