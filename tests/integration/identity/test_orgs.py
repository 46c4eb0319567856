"""Organisations: creation (creator is owner), listing, reading, renaming, mass assignment,
idempotent creation, and the events they publish."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import API, events, fetch
from tests.integration.identity.support_orgs import create_org, person
from tests.support import problem


async def test_the_creator_owns_a_new_organisation(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    org = await create_org(client, alice, "  Acme   Supplies ")
    assert org["name"] == "Acme Supplies"
    assert org["roles"] == ["owner"]

    r = await client.get(f"{API}/orgs/{org['id']}", headers=alice.auth)
    assert r.status_code == 200
    assert r.json() == org
    r = await client.get(f"{API}/orgs/{org['id']}/members", headers=alice.auth)
    (member,) = r.json()["items"]
    assert member["userId"] == alice.user_id
    assert member["email"] == "alice@example.com"
    assert [role["name"] for role in member["roles"]] == ["owner"]
    assert member["roles"][0]["builtin"] == "owner"

    (created,) = await events(database_url, "identity.organisation_created")
    assert created["organisationId"] == org["id"]
    assert created["createdBy"] == alice.user_id
    (added,) = await events(database_url, "identity.member_added")
    assert added["userId"] == alice.user_id
    assert added["roles"] == ["owner"]
    assert added["via"] == "created_organisation"
    # Every organisation gets the four built-in roles.
    rows = await fetch(
        database_url,
        "SELECT builtin FROM identity.roles WHERE organisation_id = $1 ORDER BY id",
        uuid.UUID(org["id"]),
    )
    assert [r["builtin"] for r in rows] == ["owner", "admin", "member", "auditor"]


async def test_list_shows_only_the_callers_organisations_page_by_page(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    bob = await person(client, database_url, "bob@example.com")
    mine = [(await create_org(client, alice, f"Alice {i}"))["id"] for i in range(3)]
    await create_org(client, bob, "Bob's")

    r = await client.get(f"{API}/orgs", params={"limit": 2}, headers=alice.auth)
    first = r.json()
    assert [o["id"] for o in first["items"]] == mine[:2]
    assert first["nextCursor"]
    r = await client.get(
        f"{API}/orgs", params={"limit": 2, "cursor": first["nextCursor"]}, headers=alice.auth
    )
    second = r.json()
    assert [o["id"] for o in second["items"]] == mine[2:]
    assert second["nextCursor"] is None
    # Not the documented shape (base64url): 400 from the parameter's own pattern.
    r = await client.get(f"{API}/orgs", params={"cursor": "garbage!"}, headers=alice.auth)
    assert r.status_code == 400
    assert problem(r)["code"] == "validation_failed"
    assert problem(r)["errors"][0]["field"] == "cursor"
    # The documented shape, but no cursor this server issued: 422.
    r = await client.get(f"{API}/orgs", params={"cursor": "garbage"}, headers=alice.auth)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_cursor"
    # A page size out of range is refused, never clamped.
    for limit in (0, 101, -1):
        r = await client.get(f"{API}/orgs", params={"limit": limit}, headers=alice.auth)
        assert r.status_code == 400, limit
        assert problem(r)["errors"][0]["field"] == "limit"
    assert (await client.get(f"{API}/orgs")).status_code == 401


async def test_rename_ignores_fields_a_client_must_not_set(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    org = await create_org(client, alice)
    r = await client.patch(
        f"{API}/orgs/{org['id']}",
        json={
            "name": "Renamed",
            "id": "00000000-0000-7000-8000-000000000000",
            "createdAt": "2000-01-01T00:00:00Z",
            "createdBy": "00000000-0000-7000-8000-000000000000",
            "roles": ["auditor"],
            "isAdmin": True,
        },
        headers=alice.auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == org["id"]
    assert body["name"] == "Renamed"
    assert body["createdAt"] == org["createdAt"]
    assert body["roles"] == ["owner"]
    (updated,) = await events(database_url, "identity.organisation_updated")
    assert updated["name"] == "Renamed"

    for bad in ({"name": ""}, {"name": "   "}, {"name": 5}):
        r = await client.patch(f"{API}/orgs/{org['id']}", json=bad, headers=alice.auth)
        assert r.status_code in (400, 422), bad
        assert problem(r)["code"] == "validation_failed"
    r = await client.post(f"{API}/orgs", json={}, headers=alice.auth)
    assert r.status_code == 400
    assert problem(r)["errors"]


async def test_idempotent_creation_replays_the_first_answer(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    bob = await person(client, database_url, "bob@example.com")
    key = {"Idempotency-Key": "create-acme-1"}
    first = await client.post(f"{API}/orgs", json={"name": "Acme"}, headers={**alice.auth, **key})
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await client.post(f"{API}/orgs", json={"name": "Acme"}, headers={**alice.auth, **key})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"

    other = await client.post(
        f"{API}/orgs", json={"name": "Something else"}, headers={**alice.auth, **key}
    )
    assert other.status_code == 422
    assert problem(other)["code"] == "idempotency_key_reused"
    # Keys are per caller: Bob's identical key is his own request.
    bobs = await client.post(f"{API}/orgs", json={"name": "Acme"}, headers={**bob.auth, **key})
    assert bobs.status_code == 201
    assert bobs.json()["id"] != first.json()["id"]
    # Without a key, a repeat is a new organisation.
    for _ in range(2):
        assert (
            await client.post(f"{API}/orgs", json={"name": "Acme"}, headers=alice.auth)
        ).status_code == 201
    rows = await fetch(database_url, "SELECT count(*) AS n FROM identity.organisations")
    assert rows[0]["n"] == 4

    r = await client.post(
        f"{API}/orgs", json={"name": "Acme"}, headers={**alice.auth, "Idempotency-Key": "x" * 300}
    )
    assert r.status_code == 400


async def test_concurrent_retries_with_one_key_create_one_organisation(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    alice = await person(live_client, database_url, "alice@example.com")
    headers = {**alice.auth, "Idempotency-Key": "create-once"}
    answers = await asyncio.gather(
        *(
            live_client.post(f"{API}/orgs", json={"name": "Twice"}, headers=headers)
            for _ in range(6)
        )
    )
    assert {a.status_code for a in answers} <= {201, 409}
    ids = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(ids) == 1
    for a in answers:
        if a.status_code == 409:
            assert problem(a)["code"] == "idempotency_key_in_progress"
    rows = await fetch(database_url, "SELECT count(*) AS n FROM identity.organisations")
    assert rows[0]["n"] == 1
    # Once the first has finished, a retry gets its answer.
    late = await live_client.post(f"{API}/orgs", json={"name": "Twice"}, headers=headers)
    assert late.status_code == 201
    assert late.json()["id"] in ids
