"""Platform administration: `hub users create-admin`, /users for administrators only,
disabling (ends sessions and keys), enabling, unlocking brute-force lockouts, resetting a
user's second factor (`DELETE /users/{id}/mfa`, `hub users reset-mfa`)."""

from __future__ import annotations

import asyncio
import time
import uuid

from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.cli import main as hub_main
from hub.kernel.settings import Settings
from tests.integration.identity.support import (
    API,
    PASSWORD,
    bearer,
    enrol_totp,
    events,
    fetch,
    login,
    queued_mail,
    signed_in,
)
from tests.integration.identity.support_orgs import api_key, create_org, person
from tests.integration.identity.support_tokens import with_claims
from tests.support import problem

ADMIN = "root@example.com"


def _cli(settings: Settings, *args: str) -> str:
    env = {
        "HUB_DATABASE_URL": settings.database_url or "",
        "HUB_REDIS_URL": settings.redis_url or "",
        "HUB_NEW_USER_PASSWORD": PASSWORD,
        "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
        "HUB_PASSWORD_HASH_TIME_COST": "1",
    }
    result = CliRunner().invoke(hub_main, ["users", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def admin_token(client: AsyncTestClient[Litestar], settings: Settings) -> dict[str, str]:
    await asyncio.to_thread(_cli, settings, "create-admin", ADMIN, "--name", "Root")
    r = await login(client, ADMIN)
    assert r.status_code == 200, r.text
    return bearer(r.json()["accessToken"])


async def test_only_platform_admins_see_users(
    client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    root = await admin_token(client, settings)
    alice = await person(client, database_url, "alice@example.com")
    await person(client, database_url, "bob@example.com")

    r = await client.get(f"{API}/users", headers=root)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [u["email"] for u in items] == [ADMIN, "alice@example.com", "bob@example.com"]
    assert items[0]["isPlatformAdmin"] is True
    assert items[1]["isPlatformAdmin"] is False
    assert items[1]["disabled"] is False
    r = await client.get(f"{API}/users", params={"q": "ALI"}, headers=root)
    assert [u["email"] for u in r.json()["items"]] == ["alice@example.com"]
    r = await client.get(f"{API}/users", params={"q": "%"}, headers=root)
    assert r.json()["items"] == []
    page = (await client.get(f"{API}/users", params={"limit": 2}, headers=root)).json()
    rest = (
        await client.get(f"{API}/users", params={"cursor": page["nextCursor"]}, headers=root)
    ).json()
    assert len(page["items"]) == 2
    assert [u["email"] for u in rest["items"]] == ["bob@example.com"]

    for path in ("/users", f"/users/{alice.user_id}"):
        r = await client.get(f"{API}{path}", headers=alice.auth)
        assert r.status_code == 403
        assert problem(r)["code"] == "platform_admin_required"
        assert (await client.get(f"{API}{path}")).status_code == 401
    r = await client.patch(
        f"{API}/users/{alice.user_id}", json={"disabled": True}, headers=alice.auth
    )
    assert r.status_code == 403
    assert (await client.get(f"{API}/users/{uuid.uuid4()}", headers=root)).status_code == 404

    # An administrator's API key does not administer.
    admin_id = items[0]["id"]
    await create_org(client, alice)
    key = (
        await client.post(
            f"{API}/auth/api-keys",
            json={"name": "k", "permissions": ["identity.org.read"]},
            headers=root,
        )
    ).json()["key"]
    r = await client.get(f"{API}/users", headers={"X-API-Key": key})
    assert r.status_code == 403
    # Taking the flag away takes effect at once, although the token still says admin.
    await fetch(
        database_url,
        "UPDATE identity.users SET is_platform_admin = false WHERE id = $1",
        uuid.UUID(admin_id),
    )
    assert (await client.get(f"{API}/users", headers=root)).status_code == 403


async def test_disable_ends_sessions_and_keys_and_enable_restores_sign_in(
    client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    root = await admin_token(client, settings)
    alice = await person(client, database_url, "alice@example.com")
    org = (await create_org(client, alice))["id"]
    key = (await api_key(client, alice, ["identity.org.read"]))["key"]

    r = await client.patch(
        f"{API}/users/{alice.user_id}",
        json={
            "disabled": True,
            "isPlatformAdmin": True,
            "emailVerified": False,
            "email": "taken-over@example.com",
            "displayName": "Hacked",
            "roles": ["owner"],
        },
        headers=root,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["disabled"] is True
    assert body["isPlatformAdmin"] is False
    assert body["emailVerified"] is True
    assert body["email"] == "alice@example.com"
    assert body["displayName"] == "Alice"

    assert (await client.get(f"{API}/orgs", headers=alice.auth)).status_code == 401
    assert (await client.get(f"{API}/orgs/{org}", headers={"X-API-Key": key})).status_code == 401
    r = await login(client, "alice@example.com")
    assert r.status_code == 403
    assert problem(r)["code"] == "account_disabled"
    (disabled,) = await events(database_url, "identity.user_disabled")
    assert disabled["sessionsEnded"] == 1

    r = await client.patch(f"{API}/users/{alice.user_id}", json={"disabled": False}, headers=root)
    assert r.json()["disabled"] is False
    assert (await login(client, "alice@example.com")).status_code == 200
    # Keys were revoked, not suspended: a disabled account's keys are gone for good.
    assert (await client.get(f"{API}/orgs/{org}", headers={"X-API-Key": key})).status_code == 401
    (revoked,) = await events(database_url, "identity.api_key_revoked")
    assert revoked["userId"] == alice.user_id
    (enabled,) = await events(database_url, "identity.user_enabled")
    assert enabled["userId"] == alice.user_id

    me = (await client.get(f"{API}/users", params={"q": ADMIN}, headers=root)).json()["items"][0]
    r = await client.patch(f"{API}/users/{me['id']}", json={"disabled": True}, headers=root)
    assert r.status_code == 409
    assert problem(r)["code"] == "cannot_disable_self"


async def test_unlock_clears_a_brute_force_lockout(
    client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    root = await admin_token(client, settings)
    bob = await signed_in(client, database_url, "bob@example.com")
    for _ in range(6):
        await login(client, "bob@example.com", "wrong password entirely")
    assert (await login(client, "bob@example.com")).status_code == 401
    r = await client.get(f"{API}/users/{bob['userId']}", headers=root)
    assert r.json()["locked"] is True

    r = await client.patch(f"{API}/users/{bob['userId']}", json={"unlock": True}, headers=root)
    assert r.status_code == 200
    assert r.json()["locked"] is False
    assert (await login(client, "bob@example.com")).status_code == 200
    (unlocked,) = await events(database_url, "identity.user_unlocked")
    assert unlocked["userId"] == bob["userId"]

    # The same from the command line.
    for _ in range(6):
        await login(client, "bob@example.com", "wrong password entirely")
    assert (await login(client, "bob@example.com")).status_code == 401
    out = await asyncio.to_thread(_cli, settings, "unlock", "BOB@example.com")
    assert "unlocked" in out
    assert (await login(client, "bob@example.com")).status_code == 200


async def test_an_admin_resets_a_users_second_factor(
    app: Litestar, client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    """The way back for someone whose authenticator was lost, or enrolled by a thief."""
    root = await admin_token(client, settings)
    root_id = (await client.get(f"{API}/auth/me", headers=root)).json()["id"]
    victim = await person(client, database_url, "victim@example.com")
    await enrol_totp(client, victim.auth)
    assert (await login(client, "victim@example.com")).json()["status"] == "mfa_required"
    url = f"{API}/users/{victim.user_id}/mfa"

    r = await client.delete(url, headers=victim.auth)
    assert r.status_code == 403
    assert problem(r)["code"] == "platform_admin_required"
    stale = await with_claims(
        app, root["Authorization"].split()[1], auth_time=int(time.time()) - 3600
    )
    r = await client.delete(url, headers=bearer(stale))
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    assert (await login(client, "victim@example.com")).json()["status"] == "mfa_required"

    r = await client.delete(url, headers=root)
    assert r.status_code == 204, r.text
    assert (await login(client, "victim@example.com")).json()["status"] == "authenticated"
    for table in ("totp_credentials", "recovery_codes"):
        assert await fetch(database_url, f"SELECT 1 FROM identity.{table}") == []  # noqa: S608
    (reset,) = await events(database_url, "identity.mfa_reset")
    assert reset["userId"] == victim.user_id
    assert reset["actorId"] == root_id
    assert reset["via"] == "admin_api"
    assert reset["recoveryCodesDeleted"] == 10
    (mail,) = [
        m
        for m in await queued_mail(database_url, "victim@example.com")
        if "administrator" in m["subject"]
    ]
    assert "recovery codes no longer work" in mail["text"]

    r = await client.delete(url, headers=root)
    assert r.status_code == 404
    assert problem(r)["code"] == "mfa_not_enabled"
    r = await client.delete(f"{API}/users/{uuid.uuid4()}/mfa", headers=root)
    assert r.status_code == 404
    assert problem(r)["code"] == "not_found"

    # The same from the command line (no actor: an operator at the console).
    await enrol_totp(client, victim.auth)
    out = await asyncio.to_thread(_cli, settings, "reset-mfa", "Victim@Example.com")
    assert "turned off" in out
    assert (await login(client, "victim@example.com")).json()["status"] == "authenticated"
    cli_reset = (await events(database_url, "identity.mfa_reset"))[-1]
    assert (cli_reset["via"], cli_reset["actorId"]) == ("cli", None)
    env = {
        "HUB_DATABASE_URL": settings.database_url or "",
        "HUB_REDIS_URL": settings.redis_url or "",
    }
    for email, message in (
        ("victim@example.com", "not on for victim@example.com"),
        ("nobody@example.com", "no account uses nobody@example.com"),
    ):
        result = await asyncio.to_thread(
            CliRunner().invoke, hub_main, ["users", "reset-mfa", email], env=env
        )
        assert result.exit_code == 1
        assert message in result.output
