"""Tenancy: a member of organisation A gets 404 for every organisation-B resource (with a
token or an API key), exactly as for an organisation that does not exist; a member of B
without the permission gets 403."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import (
    Person,
    api_key,
    create_org,
    join,
    person,
    roles_by_name,
)
from tests.support import problem


def b_resources(b: str, member: str, role: str, key: str) -> list[tuple[str, str, Any]]:
    """Every organisation-scoped path, pointed at organisation ``b``'s resources."""
    return [
        ("GET", f"/orgs/{b}", None),
        ("PATCH", f"/orgs/{b}", {"name": "Taken over"}),
        ("GET", f"/orgs/{b}/members", None),
        ("PATCH", f"/orgs/{b}/members/{member}", {"roles": ["admin"]}),
        ("DELETE", f"/orgs/{b}/members/{member}", None),
        ("POST", f"/orgs/{b}/invitations", {"email": "spy@example.com"}),
        ("GET", f"/orgs/{b}/roles", None),
        ("POST", f"/orgs/{b}/roles", {"name": "Spy", "permissions": ["identity.org.read"]}),
        ("PATCH", f"/orgs/{b}/roles/{role}", {"name": "Renamed"}),
        ("DELETE", f"/orgs/{b}/roles/{role}", None),
        ("GET", f"/auth/api-keys?organisationId={b}", None),
        (
            "POST",
            "/auth/api-keys",
            {"name": "spy", "permissions": ["identity.org.read"], "organisationId": b},
        ),
        ("DELETE", f"/auth/api-keys/{key}", None),
    ]


async def call(
    client: AsyncTestClient[Litestar], who: dict[str, str], method: str, path: str, body: Any
) -> Any:
    return await client.request(method, f"{API}{path}", json=body, headers=who)


async def setup(
    client: AsyncTestClient[Litestar], database_url: str
) -> tuple[Person, str, Person, str, Person, str, str]:
    alice = await person(client, database_url, "alice@example.com")
    org_a = (await create_org(client, alice, "A"))["id"]
    bob = await person(client, database_url, "bob@example.com")
    org_b = (await create_org(client, bob, "B"))["id"]
    member = await join(client, database_url, org_b, bob, "member@example.com")
    r = await client.post(
        f"{API}/orgs/{org_b}/roles",
        json={"name": "Custom", "permissions": ["identity.org.read"]},
        headers=bob.auth,
    )
    role_b = r.json()["id"]
    key_b = (await api_key(client, bob, ["identity.org.read"], organisation_id=org_b))["id"]
    return alice, org_a, bob, org_b, member, role_b, key_b


async def test_a_member_of_a_sees_nothing_of_b(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    alice, org_a, bob, org_b, member, role_b, key_b = await setup(client, database_url)
    catalogue = (await client.get(f"{API}/permissions", headers=alice.auth)).json()
    everything = [p["key"] for p in catalogue["items"]]
    alices_key = (await api_key(client, alice, everything))["key"]

    nowhere = str(uuid.uuid4())
    for method, path, body in b_resources(org_b, member.user_id, role_b, key_b):
        unknown_path = path.replace(org_b, nowhere)
        expected = await call(client, alice.auth, method, unknown_path, body)
        assert expected.status_code == 404, (method, unknown_path)
        for who in (alice.auth, {"X-API-Key": alices_key}):
            r = await call(client, who, method, path, body)
            if path.startswith("/auth/api-keys") and "X-API-Key" in who:
                assert r.status_code == 403  # key management is for people only
                continue
            assert r.status_code == 404, (method, path, r.text)
            got, want = problem(r), problem(expected)
            assert (got["code"], got["detail"]) == (want["code"], want["detail"]), path
            assert set(got) == set(want)

    # Organisation B's ids used under A's own paths are just as unknown.
    r = await client.patch(
        f"{API}/orgs/{org_a}/roles/{role_b}", json={"name": "x"}, headers=alice.auth
    )
    assert r.status_code == 404
    r = await client.delete(f"{API}/orgs/{org_a}/members/{member.user_id}", headers=alice.auth)
    assert r.status_code == 404
    r = await client.patch(
        f"{API}/orgs/{org_a}/members/{alice.user_id}", json={"roles": [role_b]}, headers=alice.auth
    )
    assert r.status_code == 422
    assert problem(r)["code"] == "unknown_role"
    listed = (await client.get(f"{API}/orgs", headers=alice.auth)).json()["items"]
    assert [o["id"] for o in listed] == [org_a]

    # Nothing changed in B.
    roles = await roles_by_name(client, org_b, bob)
    assert "Custom" in roles
    assert "Spy" not in roles
    assert (await client.get(f"{API}/orgs/{org_b}", headers=bob.auth)).json()["name"] == "B"
    r = await client.get(f"{API}/orgs/{org_b}/members", headers=bob.auth)
    assert len(r.json()["items"]) == 2


async def test_a_member_without_the_permission_gets_403(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    _, _, bob, org_b, member, role_b, key_b = await setup(client, database_url)
    reads = {f"/orgs/{org_b}", f"/orgs/{org_b}/members", f"/orgs/{org_b}/roles"}
    for method, path, body in b_resources(org_b, bob.user_id, role_b, key_b):
        r = await call(client, member.auth, method, path, body)
        if method == "GET" and path in reads:
            assert r.status_code == 200, path
            continue
        assert r.status_code == 403, (method, path, r.text)
        assert problem(r)["code"] == "permission_denied"
