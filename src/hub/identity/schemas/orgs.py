"""HTTP bodies of organisations, members, roles, invitations and the permission catalogue.

Nothing here lets a client set ids, owners, creators or timestamps; a member's roles are
changed only through ``PATCH /orgs/{orgId}/members/{userId}`` under the rules of that
endpoint (no escalation, at least one owner).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from msgspec import UNSET, Meta, UnsetType

from hub.identity.domain.roles import MAX_ORGANISATION_NAME, MAX_ROLE_DESCRIPTION, MAX_ROLE_NAME
from hub.identity.schemas import Email
from hub.kernel.structs import PatchSchema, Schema

# Names are limited after NFKC and whitespace collapsing; the document states the same limit
# on the raw text (longer is a 400; blank after collapsing is a 422).
OrgName = Annotated[str, Meta(min_length=1, max_length=MAX_ORGANISATION_NAME)]
RoleName = Annotated[str, Meta(min_length=1, max_length=MAX_ROLE_NAME)]
Description = Annotated[str, Meta(max_length=MAX_ROLE_DESCRIPTION)]
# List items carry no length limits of their own: Litestar's document drops constraints on
# list items, and a limit the document does not state must not be enforced. A role or key
# that names nothing known is a 422 (`unknown_role`, `unknown_permission`) whatever its length.
#: Roles by id or (case-insensitively) by name: "admin", "Reviewer", "0193…"; at least one,
#: since a member or invitation without any would grant nothing.
RoleRefs = Annotated[list[str], Meta(min_length=1, max_length=20)]
#: Catalogue keys; at least one, since a role or API key granting nothing is a mistake.
PermissionKeys = Annotated[list[str], Meta(min_length=1, max_length=500)]


class OrganisationIn(Schema):
    example: ClassVar[dict[str, Any]] = {"name": "Acme Procurement"}

    name: OrgName


class OrganisationPatch(PatchSchema):
    example: ClassVar[dict[str, Any]] = {"name": "Acme Purchasing"}

    name: OrgName | UnsetType = UNSET


class OrganisationOut(Schema):
    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime
    #: The caller's roles in this organisation.
    roles: list[str]
    #: Set while the organisation waits for its deletion (``DELETE /orgs/{orgId}``): it
    #: is closed until an owner cancels, and purged at ``purgeAfter``.
    deletion_scheduled_at: datetime | None = None
    purge_after: datetime | None = None


class RoleRefOut(Schema):
    id: uuid.UUID
    name: str
    builtin: str | None = None


class MemberOut(Schema):
    user_id: uuid.UUID
    email: str
    display_name: str
    active: bool
    joined_at: datetime
    roles: list[RoleRefOut]


class OwnershipTransferIn(Schema):
    """The member who becomes owner; the caller becomes an admin."""

    example: ClassVar[dict[str, Any]] = {"userId": "0193a4a2-7c1e-7d3a-9a52-1f0c2b7d9e10"}

    user_id: uuid.UUID


class MemberPatch(PatchSchema):
    """The member's complete new set of roles (ids or names)."""

    example: ClassVar[dict[str, Any]] = {"roles": ["admin"]}

    roles: RoleRefs | UnsetType = UNSET


class RoleIn(Schema):
    example: ClassVar[dict[str, Any]] = {
        "name": "Reviewer",
        "permissions": ["identity.org.read", "identity.members.read"],
        "description": "Reads the organisation and its members.",
    }

    name: RoleName
    permissions: PermissionKeys
    description: Description = ""


class RolePatch(PatchSchema):
    example: ClassVar[dict[str, Any]] = {"permissions": ["identity.org.read"]}

    name: RoleName | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    permissions: PermissionKeys | UnsetType = UNSET


class RoleOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    #: "owner", "admin", "member" or "auditor" for the built-ins (which cannot change).
    builtin: str | None
    #: Every catalogue permission this role grants (built-ins: expanded from patterns).
    permissions: list[str]
    created_at: datetime
    updated_at: datetime


class InvitationIn(Schema):
    example: ClassVar[dict[str, Any]] = {"email": "grace@example.com", "roles": ["member"]}

    email: Email
    #: Roles the invitee gets (ids or names); default: member.
    roles: RoleRefs | None = None


class InvitationOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    email: str
    roles: list[str]
    #: Who stands behind the invitation: whoever sent it last (a resend changes it).
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


class InvitationAcceptedOut(Schema):
    organisation_id: uuid.UUID
    organisation_name: str
    roles: list[str]


class PermissionOut(Schema):
    key: str
    description: str
    context: str


class BuiltinRoleOut(Schema):
    name: str
    description: str
    permissions: list[str]


class PermissionCatalogue(Schema):
    items: list[PermissionOut]
    #: What each built-in role grants today (they follow the catalogue as it grows).
    builtin_roles: list[BuiltinRoleOut]
