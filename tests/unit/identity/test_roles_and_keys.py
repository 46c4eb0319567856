"""Pure rules of part B: what built-in and custom roles grant, how a key narrows a
membership, and the API-key format."""

from __future__ import annotations

import uuid

from hub.identity.api import Membership, PermissionGrant, RoleRef
from hub.identity.domain import apikeys
from hub.identity.domain.roles import BUILTIN_GRANTS, expand, grant_of, is_builtin_name, name_key
from hub.identity.domain.secrets import derive_key

CATALOGUE = [
    "identity.org.read",
    "identity.org.update",
    "identity.owners.manage",
    "content.documents.read",
    "content.documents.delete",
    "content.audit.read",
    "content.audit.verify",
]


def test_builtin_roles_cover_whatever_the_catalogue_holds() -> None:
    assert expand(BUILTIN_GRANTS["owner"], CATALOGUE) == sorted(CATALOGUE)
    assert "identity.owners.manage" not in expand(BUILTIN_GRANTS["admin"], CATALOGUE)
    assert expand(BUILTIN_GRANTS["member"], CATALOGUE) == [
        "content.documents.read",
        "identity.org.read",
    ]
    assert expand(BUILTIN_GRANTS["auditor"], CATALOGUE) == [
        "content.audit.read",
        "content.audit.verify",
        "content.documents.read",
        "identity.org.read",
    ]


def test_custom_roles_grant_exact_keys_only() -> None:
    grant = grant_of(None, ["content.documents.read"])
    assert grant.matches("content.documents.read")
    assert not grant.matches("content.documents.readx")
    assert not grant.matches("content.documents")
    assert PermissionGrant(include=("content.*",), exclude=("content.audit.*",)).matches(
        "content.documents.read"
    )


def test_a_key_narrows_a_membership_to_its_scope() -> None:
    member = Membership(
        organisation_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        roles=(RoleRef(id=uuid.uuid4(), name="admin", builtin="admin"),),
        grants=(BUILTIN_GRANTS["admin"],),
    )
    assert member.allows("content.documents.delete")
    assert not member.is_owner
    keyed = Membership(
        organisation_id=member.organisation_id,
        user_id=member.user_id,
        roles=member.roles,
        grants=member.grants,
        scopes=frozenset({"content.documents.read", "identity.owners.manage"}),
    )
    assert keyed.allows("content.documents.read")
    assert not keyed.allows("content.documents.delete")
    assert not keyed.allows("identity.owners.manage")  # in scope, but the owner lacks it
    assert keyed.permissions(CATALOGUE) == ["content.documents.read"]


def test_role_names_compare_case_insensitively() -> None:
    assert name_key("  Review   Board ") == name_key("review board")
    assert is_builtin_name("Owner")
    assert not is_builtin_name("owners")


def test_api_key_format_and_hash() -> None:
    full, public_id, secret = apikeys.new_api_key()
    assert apikeys.parse_api_key(full) == (public_id, secret)
    assert full.startswith(apikeys.display_prefix(public_id) + "_")
    assert len(secret) >= 43  # 256 bits
    for bad in ("", "hub_ak_", full + "x", full.replace("hub_ak_", "hub_rt_"), full[:-1]):
        assert apikeys.parse_api_key(bad) is None
    key = derive_key(b"secret", "api-keys")
    stored = apikeys.secret_hash(key, secret)
    assert apikeys.secret_matches(key, secret, stored)
    other = secret[:-1] + ("x" if secret[-1] != "x" else "y")
    assert not apikeys.secret_matches(key, other, stored)
    assert not apikeys.secret_matches(derive_key(b"other", "api-keys"), secret, stored)
