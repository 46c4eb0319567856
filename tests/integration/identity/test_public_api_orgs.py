"""What other contexts ask identity about organisations (``hub.identity.api``): a
caller's membership and permissions, who holds a role or permission, and the OpenAPI
contract of part B's endpoints."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.identity.api import IdentityApi
from hub.identity.facade import IdentityFacade
from hub.identity.models import outbox
from hub.kernel.runtime import Kernel
from hub.kernel.store import Store
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import api_key, create_org, join, person


async def test_memberships_permissions_and_holders(
    client: AsyncTestClient[Litestar], database_url: str, kernel: Kernel
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org_id = (await create_org(client, owner))["id"]
    auditor = await join(client, database_url, org_id, owner, "aud@example.com", ["auditor"])
    member = await join(client, database_url, org_id, owner, "mem@example.com")
    outsider = await person(client, database_url, "out@example.com")
    org = uuid.UUID(org_id)
    api: IdentityApi = IdentityFacade(Store(kernel.db, outbox))
    ids = {p.email: uuid.UUID(p.user_id) for p in (owner, auditor, member, outsider)}

    mine = await api.membership(org, ids["owner@example.com"], api_key_id=None)
    assert mine is not None
    assert mine.is_owner
    assert [r.name for r in mine.roles] == ["owner"]
    # Built-ins are patterns: permissions other contexts register later are covered.
    assert mine.allows("content.documents.delete")
    assert await api.membership(org, ids["out@example.com"], api_key_id=None) is None
    assert await api.membership(uuid.uuid4(), ids["owner@example.com"], api_key_id=None) is None

    plain = await api.membership(org, ids["mem@example.com"], api_key_id=None)
    assert plain is not None
    assert plain.allows("content.documents.read")
    assert not plain.allows("content.audit.read")
    assert not plain.allows("identity.members.manage")
    assert await api.has_permission(
        org, ids["aud@example.com"], "content.audit.read", api_key_id=None
    )
    assert not await api.has_permission(
        org, ids["mem@example.com"], "content.audit.read", api_key_id=None
    )
    assert not await api.has_permission(
        org, ids["out@example.com"], "identity.org.read", api_key_id=None
    )

    readers = await api.members_with_permission(org, "identity.members.read")
    assert set(readers) == {
        ids[e] for e in ("owner@example.com", "aud@example.com", "mem@example.com")
    }
    assert await api.members_with_permission(org, "content.audit.read") == sorted(
        [ids["owner@example.com"], ids["aud@example.com"]]
    )
    assert await api.members_with_role(org, "Auditor") == [ids["aud@example.com"]]
    owner_role = mine.roles[0].id
    assert await api.members_with_role(org, str(owner_role)) == [ids["owner@example.com"]]
    assert await api.members_with_role(org, "nonexistent") == []
    assert await api.organisations_of(ids["mem@example.com"]) == [org]
    assert await api.organisations_of(ids["out@example.com"]) == []

    # An API key's membership is narrowed to its scope, and gone once it is revoked.
    created = await api_key(client, owner, ["identity.org.read"])
    key_id = uuid.UUID(created["id"])
    scoped = await api.membership(org, ids["owner@example.com"], api_key_id=key_id)
    assert scoped is not None
    assert scoped.allows("identity.org.read")
    assert not scoped.allows("identity.org.update")
    assert await api.membership(org, ids["mem@example.com"], api_key_id=key_id) is None
    await client.delete(f"{API}/auth/api-keys/{created['id']}", headers=owner.auth)
    assert await api.membership(org, ids["owner@example.com"], api_key_id=key_id) is None


async def test_openapi_documents_organisations_roles_keys_and_admin(
    client: AsyncTestClient[Litestar],
) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    paths = doc["paths"]
    expected = {
        ("/api/v1/auth/api-keys", "get"): "listApiKeys",
        ("/api/v1/auth/api-keys", "post"): "createApiKey",
        ("/api/v1/auth/api-keys/{key_id}", "delete"): "revokeApiKey",
        ("/api/v1/orgs", "get"): "listOrganisations",
        ("/api/v1/orgs", "post"): "createOrganisation",
        ("/api/v1/orgs/{org_id}", "get"): "getOrganisation",
        ("/api/v1/orgs/{org_id}", "patch"): "updateOrganisation",
        ("/api/v1/orgs/{org_id}/members", "get"): "listMembers",
        ("/api/v1/orgs/{org_id}/members/{user_id}", "patch"): "updateMember",
        ("/api/v1/orgs/{org_id}/members/{user_id}", "delete"): "removeMember",
        ("/api/v1/orgs/{org_id}/invitations", "post"): "createInvitation",
        ("/api/v1/invitations/{token}/accept", "post"): "acceptInvitation",
        ("/api/v1/orgs/{org_id}/roles", "get"): "listRoles",
        ("/api/v1/orgs/{org_id}/roles", "post"): "createRole",
        ("/api/v1/orgs/{org_id}/roles/{role_id}", "patch"): "updateRole",
        ("/api/v1/orgs/{org_id}/roles/{role_id}", "delete"): "deleteRole",
        ("/api/v1/permissions", "get"): "listPermissions",
        ("/api/v1/users", "get"): "listUsers",
        ("/api/v1/users/{user_id}", "get"): "getUser",
        ("/api/v1/users/{user_id}", "patch"): "updateUser",
    }
    for (path, method), operation_id in expected.items():
        assert path in paths, path
        assert paths[path][method]["operationId"] == operation_id
    create_org = paths["/api/v1/orgs"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create_org["parameters"])
    assert {"ApiKey": []} in create_org["security"]
    # What a client may set, and nothing more.
    schemas = doc["components"]["schemas"]
    assert set(schemas["OrganisationPatch"]["properties"]) == {"name"}
    assert set(schemas["MemberPatch"]["properties"]) == {"roles"}
    assert set(schemas["UserPatch"]["properties"]) == {"disabled", "unlock"}


def test_membership_needs_the_api_key_id_spelled_out() -> None:
    """A caller that forgets ``api_key_id`` must not silently get the owner's full rights:
    the argument has no default, so forgetting it is a TypeError, not an escalation."""
    import inspect

    for owner in (IdentityApi, IdentityFacade):  # the contract other contexts type against
        for method in (owner.membership, owner.has_permission):
            parameter = inspect.signature(method).parameters["api_key_id"]
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
            assert parameter.default is inspect.Parameter.empty
