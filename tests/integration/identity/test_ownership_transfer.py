"""Handing an organisation over in one step: the member becomes owner, the owner admin."""

from __future__ import annotations

import time
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.identity.support import API, bearer, events, fetch
from tests.integration.identity.support_orgs import create_org, join, member_roles, person
from tests.integration.identity.support_tokens import with_claims
from tests.support import problem

Client = AsyncTestClient[Litestar]


async def test_an_owner_hands_the_organisation_over(
    client: Client, app: Litestar, database_url: str
) -> None:
    alice = await person(client, database_url, "alice@example.com")
    org = (await create_org(client, alice))["id"]
    bob = await join(client, database_url, org, alice, "bob@example.com", ["member"])
    carol = await join(client, database_url, org, alice, "carol@example.com", ["admin"])
    url = f"{API}/orgs/{org}/ownership-transfer"

    # Refusals change nothing.
    r = await client.post(url, json={"userId": bob.user_id}, headers=carol.auth)
    assert r.status_code == 403  # an admin lacks identity.owners.manage
    r = await client.post(url, json={"userId": str(uuid.uuid4())}, headers=alice.auth)
    assert r.status_code == 404
    r = await client.post(url, json={"userId": alice.user_id}, headers=alice.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "already_owner"
    stale = bearer(await with_claims(app, alice.token, auth_time=int(time.time()) - 3600))
    r = await client.post(url, json={"userId": bob.user_id}, headers=stale)
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    await fetch(
        database_url,
        "UPDATE identity.users SET disabled_at = now() WHERE id = $1::uuid",
        carol.user_id,
    )
    r = await client.post(url, json={"userId": carol.user_id}, headers=alice.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "member_disabled"
    assert await member_roles(client, org, alice, bob.user_id) == ["member"]
    # A custom role may grant identity.owners.manage, but only an owner hands over.
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": "Steward", "permissions": ["identity.owners.manage"]},
        headers=alice.auth,
    )
    assert r.status_code == 201, r.text
    dave = await join(client, database_url, org, alice, "dave@example.com", [r.json()["id"]])
    r = await client.post(url, json={"userId": bob.user_id}, headers=dave.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "not_an_owner"
    assert not await events(database_url, "identity.ownership_transferred")

    r = await client.post(url, json={"userId": bob.user_id}, headers=alice.auth)
    assert r.status_code == 204, r.text
    assert sorted(await member_roles(client, org, bob, bob.user_id)) == ["member", "owner"]
    assert await member_roles(client, org, bob, alice.user_id) == ["admin"]
    (moved,) = await events(database_url, "identity.ownership_transferred")
    assert (moved["fromUserId"], moved["toUserId"]) == (alice.user_id, bob.user_id)
    changed = await events(database_url, "identity.member_roles_changed")
    assert [(e["userId"], sorted(e["rolesAfter"])) for e in changed] == [
        (bob.user_id, ["member", "owner"]),
        (alice.user_id, ["admin"]),
    ]
    # In force at once (cached memberships dropped): Alice can no longer hand it over.
    r = await client.post(url, json={"userId": carol.user_id}, headers=alice.auth)
    assert r.status_code == 403
    assert problem(r)["extra"]["permission"] == "identity.owners.manage"
