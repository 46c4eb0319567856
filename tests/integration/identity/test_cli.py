"""The identity commands, run like an operator would from another process: `hub keys`
(rotation keeps old tokens valid) and `hub users` (create, disable, enable)."""

from __future__ import annotations

import asyncio
import base64
import json

import click
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.cli import main as hub_main
from hub.identity.cli import keys, users
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, PASSWORD, bearer, events, login, signed_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Re-read the signing key on every issue so the rotation shows up at once.
    return settings.replace(signing_key_cache_seconds=0)


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def _cli(settings: Settings, *args: str, group: click.Group = keys, ok: bool = True) -> str:
    env = {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_REDIS_URL": settings.redis_url,
        "HUB_NEW_USER_PASSWORD": PASSWORD,
        "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
        "HUB_PASSWORD_HASH_TIME_COST": "1",
    }
    result = CliRunner().invoke(hub_main, [str(group.name), *args], env=env)
    assert (result.exit_code == 0) is ok, result.output
    return result.output


async def test_rotation_by_cli_keeps_old_tokens_valid(
    client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    before = await signed_in(client, database_url, "rotate@example.com")
    old_kid = _kid(before["accessToken"])
    output = await asyncio.to_thread(_cli, settings, "rotate")
    new_kid = output.split("new key ", 1)[1].split(";", 1)[0]
    assert new_kid != old_kid

    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": before["refreshToken"]})
    after = r.json()
    assert _kid(after["accessToken"]) == new_kid
    for token in (before["accessToken"], after["accessToken"]):
        assert (await client.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200
    kids = [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]
    assert kids == [new_kid, old_kid]
    listing = await asyncio.to_thread(_cli, settings, "list")
    assert f"{new_kid} " in listing
    assert "signing" in listing.splitlines()[0]
    assert old_kid in listing.splitlines()[1]


async def test_users_create_and_disable(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    out = await asyncio.to_thread(
        _cli, settings, "create", "Bench@Example.com", "--name", "Bench", group=users
    )
    user_id = out.strip()
    r = await login(client, "bench@example.com")
    assert r.status_code == 200  # verified at creation: signs in at once
    tokens = r.json()
    assert tokens["userId"] == user_id
    again = await asyncio.to_thread(
        _cli, settings, "create", "bench@example.com", group=users, ok=False
    )
    assert "already uses" in again
    out = await asyncio.to_thread(_cli, settings, "disable", "BENCH@example.com", group=users)
    assert "1 session(s) ended" in out
    r = await client.get(f"{API}/auth/sessions", headers=bearer(tokens["accessToken"]))
    assert r.status_code == 401
    assert (await login(client, "bench@example.com")).status_code == 403


async def test_users_enable_lets_a_disabled_account_sign_in_again(
    client: AsyncTestClient[Litestar], database_url: str, settings: Settings
) -> None:
    await asyncio.to_thread(_cli, settings, "create", "back@example.com", group=users)
    old = (await login(client, "back@example.com")).json()
    await asyncio.to_thread(_cli, settings, "disable", "back@example.com", group=users)
    assert (await login(client, "back@example.com")).status_code == 403

    out = await asyncio.to_thread(_cli, settings, "enable", "Back@Example.com", group=users)
    assert out.strip() == "enabled"
    assert (await login(client, "back@example.com")).status_code == 200
    # What disabling ended stays ended.
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": old["refreshToken"]})
    assert r.status_code == 401
    (enabled,) = await events(database_url, "identity.user_enabled")
    assert enabled["userId"] == old["userId"]
    assert enabled["actorId"] is None

    again = await asyncio.to_thread(_cli, settings, "enable", "back@example.com", group=users)
    assert again.strip() == "already enabled"
    assert len(await events(database_url, "identity.user_enabled")) == 1
    missing = await asyncio.to_thread(
        _cli, settings, "enable", "nobody@example.com", group=users, ok=False
    )
    assert "no account uses nobody@example.com" in missing


async def test_users_create_with_a_password_and_platform_administration(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    plain = await asyncio.to_thread(
        _cli,
        settings,
        "create",
        "plain@example.com",
        "--password",
        "given on the line",
        group=users,
    )
    admin = await asyncio.to_thread(
        _cli,
        settings,
        "create",
        "ops@example.com",
        "--name",
        "Ops",
        "--platform-admin",
        group=users,
    )
    assert plain.strip() != admin.strip()
    r = await login(client, "plain@example.com", "given on the line")
    assert r.status_code == 200, r.text
    plain_token = bearer(r.json()["accessToken"])
    ops = bearer((await login(client, "ops@example.com")).json()["accessToken"])
    assert (await client.get(f"{API}/users", headers=plain_token)).status_code == 403
    listed = await client.get(f"{API}/users", headers=ops)
    assert listed.status_code == 200, listed.text
    by_email = {u["email"]: u for u in listed.json()["items"]}
    assert by_email["ops@example.com"]["displayName"] == "Ops"
    assert by_email["ops@example.com"]["isPlatformAdmin"] is True
    assert by_email["plain@example.com"]["isPlatformAdmin"] is False
