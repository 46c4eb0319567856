"""Roles: the built-ins, the permission catalogue, custom roles (catalogue keys only, no
escalation, unique names) and what holding them allows."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import API, events
from tests.integration.identity.support_orgs import create_org, join, person, roles_by_name
from tests.support import problem

IDENTITY_KEYS = {
    "identity.org.read",
    "identity.org.update",
    "identity.members.read",
    "identity.members.manage",
    "identity.owners.manage",
    "identity.invitations.manage",
    "identity.roles.read",
    "identity.roles.manage",
    "identity.api_keys.manage",
}


async def test_catalogue_and_builtin_roles(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    assert (await client.get(f"{API}/permissions")).status_code == 401
    r = await client.get(f"{API}/permissions", headers=alice.auth)
    assert r.status_code == 200
    catalogue = r.json()
    keys = {p["key"] for p in catalogue["items"]}
    assert keys >= IDENTITY_KEYS
    assert all(p["description"] and p["context"] for p in catalogue["items"])
    builtins = {role["name"]: set(role["permissions"]) for role in catalogue["builtinRoles"]}
    assert builtins["owner"] == keys
    assert builtins["admin"] == keys - {"identity.owners.manage"}
    assert builtins["member"] == {k for k in keys if k.endswith(".read") and ".audit." not in k}
    assert builtins["auditor"] >= builtins["member"]

    org = (await create_org(client, alice))["id"]
    roles = await roles_by_name(client, org, alice)
    assert list(roles) == ["owner", "admin", "member", "auditor"]
    assert {name: role["builtin"] for name, role in roles.items()} == {
        n: n for n in ("owner", "admin", "member", "auditor")
    }
    assert set(roles["owner"]["permissions"]) == keys
    assert set(roles["member"]["permissions"]) == builtins["member"]


async def test_custom_roles_grant_exactly_their_permissions(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={
            "name": " Recruiter ",
            "description": "Invites people",
            "permissions": ["identity.invitations.manage", "identity.org.read"],
            "builtin": "owner",
            "id": str(uuid.uuid4()),
        },
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    role = r.json()
    assert role["name"] == "Recruiter"
    assert role["builtin"] is None
    assert role["permissions"] == ["identity.invitations.manage", "identity.org.read"]
    (created,) = await events(database_url, "identity.role_created")
    assert created["roleId"] == role["id"]

    # Held by name (any case) or by id.
    recruiter = await join(client, database_url, org, owner, "rec@example.com", ["recruiter"])
    assert (await client.get(f"{API}/orgs/{org}", headers=recruiter.auth)).status_code == 200
    # Inviting as a member would hand out reads the recruiter does not hold...
    r = await client.post(
        f"{API}/orgs/{org}/invitations", json={"email": "x@example.com"}, headers=recruiter.auth
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_not_held"
    # ...inviting into their own role does not.
    r = await client.post(
        f"{API}/orgs/{org}/invitations",
        json={"email": "x@example.com", "roles": [role["id"]]},
        headers=recruiter.auth,
    )
    assert r.status_code == 201
    # ...and nothing else: listing members needs identity.members.read.
    r = await client.get(f"{API}/orgs/{org}/members", headers=recruiter.auth)
    assert r.status_code == 403
    assert problem(r)["extra"]["permission"] == "identity.members.read"

    # Changing the role changes what its holders may do, at once.
    r = await client.patch(
        f"{API}/orgs/{org}/roles/{role['id']}",
        json={"permissions": ["identity.members.read", "identity.org.read"]},
        headers=owner.auth,
    )
    assert r.status_code == 200
    r = await client.get(f"{API}/orgs/{org}/members", headers=recruiter.auth)
    assert r.status_code == 200
    r = await client.post(
        f"{API}/orgs/{org}/invitations",
        json={"email": "y@example.com", "roles": [role["id"]]},
        headers=recruiter.auth,
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_denied"
    (updated,) = await events(database_url, "identity.role_updated")
    assert updated["permissions"] == ["identity.members.read", "identity.org.read"]


async def test_custom_role_rules(client: AsyncTestClient[Litestar], database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    url = f"{API}/orgs/{org}/roles"

    r = await client.post(
        url,
        json={"name": "Bad", "permissions": ["identity.org.read", "content.nonsense.do"]},
        headers=owner.auth,
    )
    assert r.status_code == 422
    body = problem(r)
    assert body["code"] == "unknown_permission"
    assert body["errors"][0]["field"] == "permissions"
    # At least one permission is in the document (minItems): a 400, before any rule runs.
    r = await client.post(url, json={"name": "Empty", "permissions": []}, headers=owner.auth)
    assert r.status_code == 400
    for name in ("admin", "OWNER"):
        r = await client.post(
            url, json={"name": name, "permissions": ["identity.org.read"]}, headers=owner.auth
        )
        assert r.status_code == 409, name
        assert problem(r)["code"] == "role_name_taken"
    r = await client.post(
        url, json={"name": "Reader", "permissions": ["identity.org.read"]}, headers=owner.auth
    )
    reader = r.json()
    r = await client.post(
        url, json={"name": "READER", "permissions": ["identity.org.read"]}, headers=owner.auth
    )
    assert r.status_code == 409
    r = await client.post(
        url, json={"name": "Writer", "permissions": ["identity.org.update"]}, headers=owner.auth
    )
    writer = r.json()
    r = await client.patch(f"{url}/{writer['id']}", json={"name": "reader"}, headers=owner.auth)
    assert r.status_code == 409

    roles = await roles_by_name(client, org, owner)
    for builtin in ("owner", "member"):
        r = await client.patch(
            f"{url}/{roles[builtin]['id']}", json={"name": "x"}, headers=owner.auth
        )
        assert r.status_code == 409
        assert problem(r)["code"] == "builtin_role"
        r = await client.delete(f"{url}/{roles[builtin]['id']}", headers=owner.auth)
        assert problem(r)["code"] == "builtin_role"

    await join(client, database_url, org, owner, "held@example.com", [reader["id"]])
    r = await client.delete(f"{url}/{reader['id']}", headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "role_in_use"
    assert (await client.delete(f"{url}/{writer['id']}", headers=owner.auth)).status_code == 204
    assert (await client.delete(f"{url}/{writer['id']}", headers=owner.auth)).status_code == 404
    (deleted,) = await events(database_url, "identity.role_deleted")
    assert deleted["name"] == "Writer"
    assert (await client.delete(f"{url}/{uuid.uuid4()}", headers=owner.auth)).status_code == 404


async def test_role_managers_cannot_grant_beyond_their_own_permissions(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    url = f"{API}/orgs/{org}/roles"
    r = await client.post(
        url,
        json={
            "name": "Role manager",
            "permissions": ["identity.roles.manage", "identity.roles.read", "identity.org.read"],
        },
        headers=owner.auth,
    )
    manager = await join(client, database_url, org, owner, "rm@example.com", [r.json()["id"]])
    r = await client.post(
        url,
        json={"name": "Sneaky", "permissions": ["identity.members.manage"]},
        headers=manager.auth,
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_not_held"
    assert problem(r)["extra"]["permissions"] == ["identity.members.manage"]
    r = await client.post(
        url, json={"name": "Viewer", "permissions": ["identity.org.read"]}, headers=manager.auth
    )
    assert r.status_code == 201
    # Nor widen a role to more than they hold.
    r = await client.patch(
        f"{url}/{r.json()['id']}",
        json={"permissions": ["identity.org.read", "identity.api_keys.manage"]},
        headers=manager.auth,
    )
    assert r.status_code == 403
    # Members may read roles but not manage them.
    member = await join(client, database_url, org, owner, "m@example.com")
    assert (await client.get(url, headers=member.auth)).status_code == 200
    r = await client.post(
        url, json={"name": "Mine", "permissions": ["identity.org.read"]}, headers=member.auth
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_denied"
