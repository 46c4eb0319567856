"""Memberships are cached (per request, and across requests and processes in Redis) and a
change is in force at once: role changes, role edits, removals, on this process and on
another one; a reader racing a change never stores the old roles."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.identity.services.membership_cache import MembershipCache
from hub.kernel.settings import Settings
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person, create_org, invite, join, person
from tests.support import problem

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def other_process(settings: Settings, client: Client) -> AsyncIterator[Client]:
    """A second app on the same database and Redis: another hub process."""
    async with AsyncTestClient(
        app=create_app(settings, configure_logs=False), base_url="http://testserver.local"
    ) as other:
        yield other


async def cached(redis: aioredis.Redis, org: str, who: Person) -> bool:
    return bool(await redis.hexists(f"hub:members:{org}", who.user_id))


async def invitations(client: Client, org: str, who: Person) -> Any:
    return await client.get(f"{API}/orgs/{org}/invitations", headers=who.auth)


async def test_a_role_change_is_in_force_at_once(
    client: Client, database_url: str, redis: aioredis.Redis
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    bob = await join(client, database_url, org, owner, "bob@example.com", ["member"])
    r = await invitations(client, org, bob)
    assert r.status_code == 403
    assert problem(r)["extra"]["permission"] == "identity.invitations.manage"
    assert await cached(redis, org, bob)  # the refusal came from the cache's entry

    r = await client.patch(
        f"{API}/orgs/{org}/members/{bob.user_id}", json={"roles": ["admin"]}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert not await cached(redis, org, bob)
    assert (await invitations(client, org, bob)).status_code == 200
    assert await cached(redis, org, bob)

    r = await client.patch(
        f"{API}/orgs/{org}/members/{bob.user_id}", json={"roles": ["member"]}, headers=owner.auth
    )
    assert r.status_code == 200
    assert (await invitations(client, org, bob)).status_code == 403

    # Removed: the organisation no longer exists for him, at once.
    assert (await client.get(f"{API}/orgs/{org}", headers=bob.auth)).status_code == 200
    r = await client.delete(f"{API}/orgs/{org}/members/{bob.user_id}", headers=owner.auth)
    assert r.status_code == 204
    assert (await client.get(f"{API}/orgs/{org}", headers=bob.auth)).status_code == 404


async def test_editing_a_role_changes_its_holders_at_once_on_every_process(
    client: Client, other_process: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": "Recruiter", "permissions": ["identity.invitations.manage"]},
        headers=owner.auth,
    )
    role = r.json()
    rec = await join(client, database_url, org, owner, "rec@example.com", [role["id"]])
    # The other process reads (and caches) the recruiter's membership.
    assert (await invitations(other_process, org, rec)).status_code == 200
    assert (await invitations(other_process, org, rec)).status_code == 200

    r = await client.patch(
        f"{API}/orgs/{org}/roles/{role['id']}",
        json={"permissions": ["identity.org.read"]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert (await invitations(other_process, org, rec)).status_code == 403
    assert (await other_process.get(f"{API}/orgs/{org}", headers=rec.auth)).status_code == 200

    # A newcomer's "not a member" answer is cached too, and forgotten when they join.
    dana = await person(client, database_url, "dana@example.com")
    assert (await other_process.get(f"{API}/orgs/{org}", headers=dana.auth)).status_code == 404
    await join_existing(client, database_url, org, owner, dana)
    assert (await other_process.get(f"{API}/orgs/{org}", headers=dana.auth)).status_code == 200


async def join_existing(
    client: Client, database_url: str, org: str, owner: Person, who: Person
) -> None:
    token = await invite(client, database_url, org, owner, who.email, ["member"])
    r = await client.post(f"{API}/invitations/{token}/accept", headers=who.auth)
    assert r.status_code == 200, r.text


async def test_a_reader_racing_a_change_does_not_store_the_old_roles(
    clean_state: None, redis: aioredis.Redis
) -> None:
    cache = MembershipCache(redis, ttl_seconds=60)
    org, user = uuid.uuid4(), uuid.uuid4()
    loads: list[str] = []

    class Row:
        role_id = uuid.uuid4()
        name = "admin"
        builtin = "admin"
        permissions: list[str] = []

    async def stale_read() -> list[Any]:
        loads.append("stale")
        await cache.forget(org)  # the change commits while this reader was reading
        return [Row()]

    async def fresh_read() -> None:
        loads.append("fresh")
        return None

    roles = await cache.roles(org, user, stale_read)
    assert roles is not None
    assert [r.name for r in roles] == ["admin"]
    assert not await redis.hexists(f"hub:members:{org}", str(user))  # not stored
    assert await cache.roles(org, user, fresh_read) is None
    assert await cache.roles(org, user, fresh_read) is None  # now from Redis
    assert loads == ["stale", "fresh"]
