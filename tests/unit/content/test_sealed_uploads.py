"""Which members upload sealed (restricted from creation) documents: only those whose role
lists ``content.uploads.sealed`` by its exact key; content administrators never."""

from __future__ import annotations

import uuid

from hub.content.domain.access import SEALED_UPLOADS, caller_of
from hub.identity.api import Membership, PermissionGrant, RoleRef
from hub.identity.domain.roles import BUILTIN_GRANTS


def member(*grants: PermissionGrant, scopes: frozenset[str] | None = None) -> Membership:
    return Membership(
        organisation_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        roles=(RoleRef(id=uuid.uuid4(), name="r"),),
        grants=grants,
        scopes=scopes,
    )


def test_a_role_listing_the_key_seals_its_members_uploads() -> None:
    supplier = PermissionGrant(include=("content.documents.write", SEALED_UPLOADS))
    assert caller_of(member(supplier)).sealed_uploads is True
    # an API key's narrower scopes cannot unseal what its owner uploads
    keyed = member(supplier, scopes=frozenset({"content.documents.write"}))
    assert caller_of(keyed).sealed_uploads is True


def test_patterns_and_administrators_do_not_seal() -> None:
    for builtin in ("owner", "admin", "member", "auditor"):
        assert caller_of(member(BUILTIN_GRANTS[builtin])).sealed_uploads is False
    pattern = PermissionGrant(include=("content.uploads.*",))
    assert caller_of(member(pattern)).sealed_uploads is False
    admin = PermissionGrant(include=("content.admin", SEALED_UPLOADS))
    assert caller_of(member(admin)).sealed_uploads is False
