"""Who may still stand behind an invitation (pure rule, no database)."""

from __future__ import annotations

import uuid

from hub.identity.api import Membership, PermissionGrant, RoleRef
from hub.identity.domain.invitations import inviter_still_allowed
from hub.identity.domain.roles import BUILTIN_GRANTS

ORG, USER = uuid.uuid4(), uuid.uuid4()


def member(*grants: PermissionGrant, scopes: frozenset[str] | None = None) -> Membership:
    return Membership(
        organisation_id=ORG,
        user_id=USER,
        roles=tuple(RoleRef(id=uuid.uuid4(), name=f"r{i}") for i, _ in enumerate(grants)),
        grants=grants,
        scopes=scopes,
    )


def test_the_inviter_needs_the_permission_to_invite_and_everything_granted() -> None:
    admin = member(BUILTIN_GRANTS["admin"])
    granted = {"identity.members.manage", "content.documents.read"}
    assert inviter_still_allowed(admin, active=True, granted=granted)
    assert inviter_still_allowed(admin, active=True, granted=())
    # Removed, or account disabled: nobody stands behind the invitation any more.
    assert not inviter_still_allowed(None, active=True, granted=())
    assert not inviter_still_allowed(admin, active=False, granted=())
    # Demoted to member: no longer invites at all.
    assert not inviter_still_allowed(member(BUILTIN_GRANTS["member"]), active=True, granted=())
    # Still invites, but cannot hand out what the invitation grants (no escalation).
    recruiter = member(
        PermissionGrant(include=("identity.invitations.manage", "content.documents.read"))
    )
    assert inviter_still_allowed(recruiter, active=True, granted={"content.documents.read"})
    assert not inviter_still_allowed(recruiter, active=True, granted=granted)
    # Admins cannot make owners: an owner invitation dies with the inviter's ownership.
    assert not inviter_still_allowed(admin, active=True, granted={"identity.owners.manage"})
