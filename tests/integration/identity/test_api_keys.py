"""API keys: shown once and stored hashed, scoped to permissions and never beyond their
owner, bound to one organisation or not, last-used time, immediate revocation, step-up
before creation, and throttled guessing."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.settings import Settings
from tests.integration.identity.support import API, bearer, events, fetch
from tests.integration.identity.support_orgs import api_key, create_org, join, person
from tests.integration.identity.support_tokens import with_claims
from tests.support import problem

KEYS = f"{API}/auth/api-keys"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(ip_lockout_threshold=8)


def key_auth(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key}"}


async def test_a_key_is_shown_once_stored_hashed_and_limited_to_its_scope(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    created = await api_key(client, owner, ["identity.members.read", "identity.org.read"])
    key = created["key"]
    assert key.startswith("hub_ak_")
    assert key.startswith(created["prefix"])
    assert len(key) > len(created["prefix"]) + 40
    assert created["userId"] == owner.user_id
    assert created["organisationId"] is None
    assert created["permissions"] == ["identity.members.read", "identity.org.read"]
    assert created["lastUsedAt"] is None
    (event,) = await events(database_url, "identity.api_key_created")
    assert event["apiKeyId"] == created["id"]
    assert key not in str(event)

    listing = (await client.get(KEYS, headers=owner.auth)).json()
    (listed,) = listing["items"]
    assert "key" not in listed
    assert listed["prefix"] == created["prefix"]
    secret = key[len(created["prefix"]) + 1 :]
    (row,) = await fetch(database_url, "SELECT * FROM identity.api_keys")
    stored = str(dict(row)).encode()
    assert secret.encode() not in stored
    assert key.encode() not in stored
    assert len(row["secret_hash"]) == 32

    # Both header styles authenticate; the key does what its scope and owner allow...
    r = await client.get(f"{API}/orgs/{org}/members", headers=key_auth(key))
    assert r.status_code == 200
    r = await client.get(f"{API}/orgs/{org}", headers={"X-API-Key": key})
    assert r.status_code == 200
    # ...and nothing more, although its owner could.
    r = await client.patch(f"{API}/orgs/{org}", json={"name": "X"}, headers=key_auth(key))
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_denied"
    r = await client.get(f"{API}/orgs/{org}/roles", headers=key_auth(key))
    assert r.status_code == 403
    # Person-only actions are refused to keys.
    for method, url, body in (
        ("POST", f"{API}/orgs", {"name": "By key"}),
        ("POST", KEYS, {"name": "k", "permissions": ["identity.org.read"]}),
        ("GET", KEYS, None),
        ("DELETE", f"{API}/orgs/{org}/members/{owner.user_id}", None),
        # A leaked key must not take over its owner's account.
        ("POST", f"{API}/auth/mfa/totp/setup", None),
        ("GET", f"{API}/auth/sessions", None),
        ("GET", f"{API}/auth/sso-links", None),
        ("DELETE", f"{API}/auth/sso-links/{uuid.uuid4()}", None),
        ("PATCH", f"{API}/auth/me", {"displayName": "Owned"}),
        ("POST", f"{API}/auth/password/change", {"currentPassword": "x", "newPassword": "y"}),
        ("POST", f"{API}/invitations/hub_inv_x/accept", None),
        ("GET", f"{API}/users", None),
    ):
        r = await client.request(method, url, json=body, headers=key_auth(key))
        assert r.status_code == 403, (method, url)
        assert problem(r)["code"] == "session_required"
    for bad in ("hub_ak_nope", key[:-1] + ("A" if key[-1] != "A" else "B"), "Bearer-ish"):
        r = await client.get(f"{API}/orgs/{org}", headers={"X-API-Key": bad})
        assert r.status_code == 401
        assert problem(r)["code"] == "invalid_api_key"


async def test_a_key_never_does_more_than_its_owner_can_now(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    admin = await join(client, database_url, org, owner, "admin@example.com", ["admin"])
    member = await join(client, database_url, org, owner, "member@example.com")

    # A member may list any catalogue key on a personal key; it still cannot manage.
    mine = await api_key(client, member, ["identity.members.manage", "identity.members.read"])
    r = await client.patch(
        f"{API}/orgs/{org}/members/{member.user_id}",
        json={"roles": ["admin"]},
        headers=key_auth(mine["key"]),
    )
    assert r.status_code == 403
    assert (
        await client.get(f"{API}/orgs/{org}/members", headers=key_auth(mine["key"]))
    ).status_code == 200

    # A key's scope bounds what it hands out too: to move someone between roles it must
    # hold what those roles grant.
    narrow = await api_key(client, admin, ["identity.members.manage", "identity.members.read"])
    url = f"{API}/orgs/{org}/members/{member.user_id}"
    r = await client.patch(url, json={"roles": ["auditor"]}, headers=key_auth(narrow["key"]))
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_not_held"

    # The admin's full key manages members until the admin is demoted: then, at once, not.
    catalogue = (await client.get(f"{API}/permissions", headers=admin.auth)).json()
    (admin_role,) = [role for role in catalogue["builtinRoles"] if role["name"] == "admin"]
    theirs = await api_key(client, admin, admin_role["permissions"])
    r = await client.patch(url, json={"roles": ["auditor"]}, headers=key_auth(theirs["key"]))
    assert r.status_code == 200
    r = await client.patch(
        f"{API}/orgs/{org}/members/{admin.user_id}", json={"roles": ["member"]}, headers=owner.auth
    )
    assert r.status_code == 200
    r = await client.patch(url, json={"roles": ["member"]}, headers=key_auth(theirs["key"]))
    assert r.status_code == 403


async def test_organisation_keys(client: AsyncTestClient[Litestar], database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner, "A"))["id"]
    other = (await create_org(client, owner, "B"))["id"]
    admin = await join(client, database_url, org, owner, "admin@example.com", ["admin"])
    member = await join(client, database_url, org, owner, "member@example.com")
    outsider = await person(client, database_url, "outsider@example.com")

    body = {"name": "ci", "permissions": ["identity.members.read"], "organisationId": org}
    r = await client.post(KEYS, json=body, headers=member.auth)
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_denied"
    r = await client.post(KEYS, json=body, headers=outsider.auth)
    assert r.status_code == 404
    r = await client.post(
        KEYS, json={**body, "permissions": ["identity.owners.manage"]}, headers=admin.auth
    )
    assert r.status_code == 403
    assert problem(r)["code"] == "permission_not_held"
    service = await api_key(client, admin, ["identity.members.read"], organisation_id=org)
    assert service["organisationId"] == org

    # Bound to its organisation: elsewhere it finds nothing, not even its owner's others.
    assert (
        await client.get(f"{API}/orgs/{org}/members", headers=key_auth(service["key"]))
    ).status_code == 200
    owners_key = await api_key(client, owner, ["identity.members.read"], organisation_id=org)
    r = await client.get(f"{API}/orgs/{other}/members", headers=key_auth(owners_key["key"]))
    assert r.status_code == 404
    listed = (await client.get(f"{API}/orgs", headers=key_auth(owners_key["key"]))).json()
    assert [o["id"] for o in listed["items"]] == [org]

    # The organisation's key managers see and revoke its keys; others do not.
    r = await client.get(KEYS, params={"organisationId": org}, headers=owner.auth)
    assert {k["id"] for k in r.json()["items"]} == {service["id"], owners_key["id"]}
    r = await client.get(KEYS, params={"organisationId": org}, headers=member.auth)
    assert r.status_code == 403
    r = await client.get(KEYS, params={"organisationId": org}, headers=outsider.auth)
    assert r.status_code == 404
    assert (await client.delete(f"{KEYS}/{service['id']}", headers=member.auth)).status_code == 403
    assert (
        await client.delete(f"{KEYS}/{service['id']}", headers=outsider.auth)
    ).status_code == 404
    assert (await client.delete(f"{KEYS}/{service['id']}", headers=owner.auth)).status_code == 204
    r = await client.get(f"{API}/orgs/{org}/members", headers=key_auth(service["key"]))
    assert r.status_code == 401


async def test_last_use_and_immediate_revocation(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    created = await api_key(client, owner, ["identity.org.read"])
    auth = key_auth(created["key"])
    before = datetime.now(UTC)
    assert (await client.get(f"{API}/orgs/{org}", headers=auth)).status_code == 200
    (listed,) = (await client.get(KEYS, headers=owner.auth)).json()["items"]
    first_use = datetime.fromisoformat(listed["lastUsedAt"])
    assert first_use >= before - timedelta(seconds=1)
    # Within a minute another use writes nothing.
    assert (await client.get(f"{API}/orgs/{org}", headers=auth)).status_code == 200
    (listed,) = (await client.get(KEYS, headers=owner.auth)).json()["items"]
    assert datetime.fromisoformat(listed["lastUsedAt"]) == first_use
    # A minute later it is written again.
    await fetch(
        database_url,
        "UPDATE identity.api_keys SET last_used_at = last_used_at - interval '2 minutes'",
    )
    assert (await client.get(f"{API}/orgs/{org}", headers=auth)).status_code == 200
    (listed,) = (await client.get(KEYS, headers=owner.auth)).json()["items"]
    assert datetime.fromisoformat(listed["lastUsedAt"]) >= first_use

    stranger = await person(client, database_url, "stranger@example.com")
    assert (
        await client.delete(f"{KEYS}/{created['id']}", headers=stranger.auth)
    ).status_code == 404
    assert (await client.delete(f"{KEYS}/{uuid.uuid4()}", headers=owner.auth)).status_code == 404
    assert (await client.delete(f"{KEYS}/{created['id']}", headers=owner.auth)).status_code == 204
    r = await client.get(f"{API}/orgs/{org}", headers=auth)
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_api_key"
    (listed,) = (await client.get(KEYS, headers=owner.auth)).json()["items"]
    assert listed["revokedAt"] is not None
    (revoked,) = await events(database_url, "identity.api_key_revoked")
    assert revoked["apiKeyId"] == created["id"]
    assert (await client.delete(f"{KEYS}/{created['id']}", headers=owner.auth)).status_code == 204
    assert len(await events(database_url, "identity.api_key_revoked")) == 1


async def test_creating_a_key_needs_a_recent_sign_in_and_valid_input(
    client: AsyncTestClient[Litestar], app: Litestar, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    stale = await with_claims(app, owner.token, auth_time=int(time.time()) - 3600)
    body = {"name": "k", "permissions": ["identity.org.read"]}
    r = await client.post(KEYS, json=body, headers=bearer(stale))
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    assert (await client.get(KEYS, headers=bearer(stale))).status_code == 200

    for bad, code in (
        ({**body, "permissions": ["identity.nope.read"]}, "unknown_permission"),
        ({**body, "name": "  "}, "validation_failed"),
        ({**body, "expiresAt": "2000-01-01T00:00:00Z"}, "validation_failed"),
    ):
        r = await client.post(KEYS, json=bad, headers=owner.auth)
        assert r.status_code == 422, bad
        assert problem(r)["code"] == code
    # No permission at all does not match the document (minItems 1): a 400.
    r = await client.post(KEYS, json={**body, "permissions": []}, headers=owner.auth)
    assert r.status_code == 400
    assert problem(r)["errors"][0]["field"] == "permissions"
    r = await client.post(
        KEYS, json={**body, "expiresAt": "2999-01-01T00:00:00"}, headers=owner.auth
    )
    assert r.status_code == 400  # no time zone

    expiring = await api_key(client, owner, ["identity.org.read"])
    org = (await create_org(client, owner))["id"]
    assert (
        await client.get(f"{API}/orgs/{org}", headers=key_auth(expiring["key"]))
    ).status_code == 200
    await fetch(database_url, "UPDATE identity.api_keys SET expires_at = now()")
    r = await client.get(f"{API}/orgs/{org}", headers=key_auth(expiring["key"]))
    assert r.status_code == 401


async def test_guessing_keys_locks_the_address(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    good = await api_key(client, owner, ["identity.org.read"])
    prefix = good["prefix"]
    # Every failure is counted; the one beyond the threshold locks the address.
    for i in range(9):
        guess = f"{prefix}_{'x' * 42}{i}" if i % 2 else "hub_ak_garbage"
        r = await client.get(f"{API}/orgs/{org}", headers={"X-API-Key": guess})
        assert r.status_code == 401
    r = await client.get(f"{API}/orgs/{org}", headers=key_auth(good["key"]))
    assert r.status_code == 401
    assert problem(r)["code"] == "invalid_api_key"
    locks = await events(database_url, "identity.login_locked")
    assert [lock["scope"] for lock in locks] == ["ip"]
