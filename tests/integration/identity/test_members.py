"""Members and their roles: changing roles, removing, leaving, the last-owner rule (also
under concurrency) and no escalation beyond one's own permissions."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import API, events, fetch
from tests.integration.identity.support_orgs import (
    create_org,
    join,
    member_roles,
    person,
)
from tests.support import problem


async def test_roles_change_and_the_change_is_published(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    bob = await join(client, database_url, org, owner, "bob@example.com")
    assert await member_roles(client, org, owner, bob.user_id) == ["member"]

    r = await client.patch(
        f"{API}/orgs/{org}/members/{bob.user_id}",
        json={"roles": ["Admin", "auditor"], "isAdmin": True, "userId": owner.user_id},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["userId"] == bob.user_id
    assert sorted(role["name"] for role in r.json()["roles"]) == ["admin", "auditor"]
    (changed,) = await events(database_url, "identity.member_roles_changed")
    assert changed["userId"] == bob.user_id
    assert changed["rolesBefore"] == ["member"]
    assert sorted(changed["rolesAfter"]) == ["admin", "auditor"]
    assert changed["actorId"] == owner.user_id
    assert changed["organisationId"] == org

    # Bob, now an admin, manages members himself.
    carol = await join(client, database_url, org, bob, "carol@example.com")
    r = await client.patch(
        f"{API}/orgs/{org}/members/{carol.user_id}", json={"roles": ["auditor"]}, headers=bob.auth
    )
    assert r.status_code == 200

    for bad, code in (({"roles": []}, 400), ({"roles": ["nonexistent"]}, 422)):
        r = await client.patch(
            f"{API}/orgs/{org}/members/{carol.user_id}", json=bad, headers=owner.auth
        )
        assert r.status_code == code, bad
    r = await client.patch(
        f"{API}/orgs/{org}/members/{uuid.uuid4()}", json={"roles": ["member"]}, headers=owner.auth
    )
    assert r.status_code == 404


async def test_plain_members_cannot_manage_and_nobody_escalates(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    admin = await join(client, database_url, org, owner, "admin@example.com", ["admin"])
    member = await join(client, database_url, org, owner, "member@example.com")

    # A member reads but does not manage.
    assert (await client.get(f"{API}/orgs/{org}/members", headers=member.auth)).status_code == 200
    r = await client.patch(
        f"{API}/orgs/{org}/members/{member.user_id}", json={"roles": ["admin"]}, headers=member.auth
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_denied"
    r = await client.delete(f"{API}/orgs/{org}/members/{admin.user_id}", headers=member.auth)
    assert r.status_code == 403

    # An admin cannot hand out, take away or remove ownership.
    r = await client.patch(
        f"{API}/orgs/{org}/members/{member.user_id}", json={"roles": ["owner"]}, headers=admin.auth
    )
    assert r.status_code == 403
    body = problem(r)
    assert body["code"] == "permission_not_held"
    assert "identity.owners.manage" in body["extra"]["permissions"]
    r = await client.patch(
        f"{API}/orgs/{org}/members/{admin.user_id}", json={"roles": ["owner"]}, headers=admin.auth
    )
    assert r.status_code == 403
    r = await client.patch(
        f"{API}/orgs/{org}/members/{owner.user_id}", json={"roles": ["member"]}, headers=admin.auth
    )
    assert r.status_code == 403
    r = await client.delete(f"{API}/orgs/{org}/members/{owner.user_id}", headers=admin.auth)
    assert r.status_code == 403
    assert await member_roles(client, org, owner, owner.user_id) == ["owner"]
    # Inviting someone as owner is handing out ownership too.
    r = await client.post(
        f"{API}/orgs/{org}/invitations",
        json={"email": "x@example.com", "roles": ["owner"]},
        headers=admin.auth,
    )
    assert r.status_code == 403
    # Within their own permissions, admins do manage.
    r = await client.patch(
        f"{API}/orgs/{org}/members/{member.user_id}", json={"roles": ["admin"]}, headers=admin.auth
    )
    assert r.status_code == 200
    assert (
        await client.delete(f"{API}/orgs/{org}/members/{member.user_id}", headers=admin.auth)
    ).status_code == 204


async def test_the_last_owner_cannot_leave_be_removed_or_be_demoted(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    second = await join(client, database_url, org, owner, "second@example.com")

    r = await client.delete(f"{API}/orgs/{org}/members/{owner.user_id}", headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "last_owner"
    r = await client.patch(
        f"{API}/orgs/{org}/members/{owner.user_id}", json={"roles": ["admin"]}, headers=owner.auth
    )
    assert r.status_code == 409
    assert problem(r)["code"] == "last_owner"
    assert await member_roles(client, org, owner, owner.user_id) == ["owner"]

    # With a second owner, the first may step down and then leave.
    r = await client.patch(
        f"{API}/orgs/{org}/members/{second.user_id}", json={"roles": ["owner"]}, headers=owner.auth
    )
    assert r.status_code == 200
    r = await client.patch(
        f"{API}/orgs/{org}/members/{owner.user_id}", json={"roles": ["member"]}, headers=owner.auth
    )
    assert r.status_code == 200
    # ...and now cannot undo it: members do not grant themselves anything.
    r = await client.patch(
        f"{API}/orgs/{org}/members/{owner.user_id}", json={"roles": ["owner"]}, headers=owner.auth
    )
    assert r.status_code == 403
    r = await client.delete(f"{API}/orgs/{org}/members/{owner.user_id}", headers=owner.auth)
    assert r.status_code == 204
    (left,) = await events(database_url, "identity.member_removed")
    assert left["userId"] == owner.user_id
    assert left["reason"] == "left"
    # Gone means gone: the organisation no longer exists for the former owner.
    assert (await client.get(f"{API}/orgs/{org}", headers=owner.auth)).status_code == 404
    assert (await client.get(f"{API}/orgs", headers=owner.auth)).json()["items"] == []
    r = await client.delete(f"{API}/orgs/{org}/members/{second.user_id}", headers=second.auth)
    assert problem(r)["code"] == "last_owner"


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    """Real concurrency (uvicorn, separate connections): without the organisation lock
    both demotions see two owners and both succeed."""
    for attempt in range(4):
        a = await person(live_client, database_url, f"a{attempt}@example.com")
        org = (await create_org(live_client, a))["id"]
        b = await join(live_client, database_url, org, a, f"b{attempt}@example.com", ["owner"])
        answers = await asyncio.gather(
            live_client.patch(
                f"{API}/orgs/{org}/members/{b.user_id}", json={"roles": ["member"]}, headers=a.auth
            ),
            live_client.patch(
                f"{API}/orgs/{org}/members/{a.user_id}", json={"roles": ["member"]}, headers=b.auth
            ),
        )
        statuses = sorted(r.status_code for r in answers)
        # One wins; the other is refused: as the last owner (409) or, when it re-checks
        # its own rights under the lock, as someone who is no longer an owner (403).
        assert statuses in ([200, 403], [200, 409]), statuses
        owners = await fetch(
            database_url,
            "SELECT count(*) AS n FROM identity.member_roles mr JOIN identity.roles r "
            "ON r.id = mr.role_id WHERE mr.organisation_id = $1 AND r.builtin = 'owner'",
            uuid.UUID(org),
        )
        assert owners[0]["n"] == 1, statuses


async def test_removing_a_member_ends_their_access_and_their_keys(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    bob = await join(client, database_url, org, owner, "bob@example.com", ["admin"])
    r = await client.post(
        f"{API}/auth/api-keys",
        json={"name": "bot", "permissions": ["identity.members.read"], "organisationId": org},
        headers=bob.auth,
    )
    assert r.status_code == 201
    key = r.json()["key"]
    assert (
        await client.get(f"{API}/orgs/{org}/members", headers={"X-API-Key": key})
    ).status_code == 200

    r = await client.delete(f"{API}/orgs/{org}/members/{bob.user_id}", headers=owner.auth)
    assert r.status_code == 204
    (removed,) = await events(database_url, "identity.member_removed")
    assert removed["reason"] == "removed"
    assert removed["actorId"] == owner.user_id
    (revoked,) = await events(database_url, "identity.api_key_revoked")
    assert revoked["userId"] == bob.user_id
    assert (await client.get(f"{API}/orgs/{org}", headers=bob.auth)).status_code == 404
    assert (
        await client.get(f"{API}/orgs/{org}/members", headers={"X-API-Key": key})
    ).status_code == 401
    r = await client.delete(f"{API}/orgs/{org}/members/{bob.user_id}", headers=owner.auth)
    assert r.status_code == 404
