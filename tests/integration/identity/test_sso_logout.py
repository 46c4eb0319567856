"""Logout with a real provider, both ways.

RP-initiated (OpenID Connect RP-Initiated Logout 1.0): signing out of the hub ends the hub
session and answers the provider's end-session URL with the sign-in's ID token as hint,
which the provider accepts and sends the browser back to the frontend from.

Back-channel (OpenID Connect Back-Channel Logout 1.0): a logout token the provider signs
ends the hub sessions opened through it for that subject or that provider session —
access and refresh tokens at once — and nothing else; a forged, stale, misaddressed or
replayed token is refused and ends nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from hub.app import context_modules
from hub.cli import main as hub_main
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from tests.integration.identity.oidc_provider import LocalProvider, rsa_key
from tests.integration.identity.sso_support import (
    CLIENT_ID,
    Client,
    acme_org,
    add_provider,
    owner_and_org,
    sign_in,
    sso_settings,
)
from tests.integration.identity.support import API, bearer, events, fetch, signed_in
from tests.support import problem
from tests.support.dns_zone import LocalZone

LINKS = f"{API}/auth/sso-links"


FRONTEND = "https://app.example"


@pytest.fixture
def settings(settings: Settings, zone: LocalZone) -> Settings:
    return sso_settings(settings, zone).replace(frontend_url=FRONTEND)


def _claims(jwt: str) -> dict[str, Any]:
    body = jwt.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


async def sso_logout(client: Client, tokens: dict[str, Any]) -> str | None:
    r = await client.post(f"{API}/auth/sso/logout", headers=bearer(tokens["accessToken"]))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    url: str | None = r.json()["endSessionUrl"]
    return url


async def test_signing_out_here_sends_the_browser_to_end_the_providers_session(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.allow_post_logout(FRONTEND)
    op.person("pat", "pat@acme.example")
    tokens = await signed_in_through(client, provider["id"])
    other = await signed_in_through(client, provider["id"])
    (kept,) = await fetch(
        database_url,
        "SELECT id_token_sealed FROM identity.sso_sessions WHERE session_id = $1",
        uuid.UUID(tokens["sessionId"]),
    )
    assert kept["id_token_sealed"] is not None
    assert b"eyJ" not in kept["id_token_sealed"]  # sealed, not the token itself

    url = await sso_logout(client, tokens)
    assert url is not None
    assert url.startswith(f"{op.issuer}/end-session?")
    params = dict(parse_qsl(urlsplit(url).query))
    assert set(params) == {"id_token_hint", "client_id", "post_logout_redirect_uri"}
    assert (params["client_id"], params["post_logout_redirect_uri"]) == (CLIENT_ID, FRONTEND)
    hint = _claims(params["id_token_hint"])
    [link] = (await client.get(LINKS, headers=bearer(other["accessToken"]))).json()["items"]
    assert (hint["sub"], hint["iss"]) == (link["subject"], op.issuer)
    # The hub session ended (access and refresh token), the other one did not; the kept
    # ID token went with it.
    assert not await alive(client, tokens)
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert r.status_code == 401
    assert await alive(client, other)
    (gone,) = await fetch(
        database_url,
        "SELECT id_token_sealed FROM identity.sso_sessions WHERE session_id = $1",
        uuid.UUID(tokens["sessionId"]),
    )
    assert gone["id_token_sealed"] is None
    [ended] = [
        e
        for e in await events(database_url, "identity.session_revoked")
        if e["sessionId"] == tokens["sessionId"]
    ]
    assert ended["reason"] == "logout"

    # The provider takes the hint and sends the browser back to the frontend.
    async with httpx.AsyncClient() as browser:
        at_op = await browser.get(url)
    assert at_op.status_code == 302, at_op.text
    assert at_op.headers["location"].startswith(FRONTEND)
    assert op.end_session_requests[-1]["id_token_hint"] == params["id_token_hint"]

    # Any other end of a session drops its kept ID token too (here: sign out everywhere).
    r = await client.delete(f"{API}/auth/sessions", headers=bearer(other["accessToken"]))
    assert r.json() == {"sessionsEnded": 1}
    kept_tokens = await fetch(
        database_url, "SELECT 1 FROM identity.sso_sessions WHERE id_token_sealed IS NOT NULL"
    )
    assert kept_tokens == []


async def test_a_session_with_no_provider_session_to_end_just_ends(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    """A password session, or one through a provider publishing no end-session endpoint:
    the session ends and there is nowhere to go (null)."""
    owner, org = await owner_and_org(client, database_url)
    password = await signed_in(client, database_url, "plain@example.com")
    assert await sso_logout(client, password) is None
    assert not await alive(client, password)

    op.publishes_end_session = False
    provider = await add_provider(client, org, owner, op, emailDomains=["acme.example"])
    op.person("pat", "pat@acme.example")
    tokens = await signed_in_through(client, provider["id"])
    assert await sso_logout(client, tokens) is None
    assert not await alive(client, tokens)
    assert op.end_session_requests == []
    # An access token of a session that has ended gets no URL either: 401.
    r = await client.post(f"{API}/auth/sso/logout", headers=bearer(tokens["accessToken"]))
    assert r.status_code == 401

    # A provider whose credentials no configured key opens any more (a lost
    # HUB_SECRET_KEY): the session still ends, with nowhere to send the browser.
    op.publishes_end_session = True
    second = await add_provider(client, org, owner, op, name="Second IdP")
    await fetch(
        database_url,
        "UPDATE identity.identity_providers SET client_id_sealed = $2 WHERE id = $1",
        uuid.UUID(second["id"]),
        b"\x01" + bytes(40),
    )
    (row,) = await fetch(
        database_url,
        "SELECT endpoints->>'end_session_endpoint' AS url FROM identity.identity_providers "
        "WHERE id = $1",
        uuid.UUID(second["id"]),
    )
    assert row["url"] == f"{op.issuer}/end-session"
    fresh = await signed_in(client, database_url, "fresh@example.com")
    await fetch(
        database_url,
        "INSERT INTO identity.sso_sessions (session_id, provider_id, subject) "
        "VALUES ($1, $2, 'someone')",
        uuid.UUID(fresh["sessionId"]),
        uuid.UUID(second["id"]),
    )
    assert await sso_logout(client, fresh) is None
    assert not await alive(client, fresh)


def logout_url(provider_id: str) -> str:
    return f"{API}/auth/sso/{provider_id}/backchannel-logout"


async def send_logout(client: Client, provider_id: str, token: str) -> httpx.Response:
    return await client.post(logout_url(provider_id), data={"logout_token": token})


async def signed_in_through(client: Client, provider_id: str) -> dict[str, Any]:
    r = await sign_in(client, provider_id)
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    assert tokens["status"] == "authenticated"
    return tokens


async def alive(client: Client, tokens: dict[str, Any]) -> bool:
    r = await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


async def test_a_logout_at_the_provider_ends_the_persons_sessions_here(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    owner, _, provider = await acme_org(client, database_url, op)
    # Registered with the provider beside the redirect URI, under HUB_PUBLIC_URL.
    assert provider["backchannelLogoutUri"] == (
        provider["redirectUri"].removesuffix("/auth/sso/callback")
        + logout_url(provider["id"]).removeprefix(API)
    )
    op.person("pat", "pat@acme.example")
    laptop = await signed_in_through(client, provider["id"])
    phone = await signed_in_through(client, provider["id"])
    op.person("sam", "sam@acme.example")
    sam = await signed_in_through(client, provider["id"])
    [link] = (await client.get(LINKS, headers=bearer(laptop["accessToken"]))).json()["items"]

    token = op.logout_token(sub=link["subject"])
    r = await send_logout(client, provider["id"], token)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    # Both of Pat's sessions ended, access tokens at once and refresh tokens too.
    assert not await alive(client, laptop)
    assert not await alive(client, phone)
    r = await client.post(f"{API}/auth/refresh", json={"refreshToken": phone["refreshToken"]})
    assert r.status_code == 401
    # Sam, and the owner (who signed in with a password), are untouched.
    assert await alive(client, sam)
    assert (await client.get(f"{API}/auth/me", headers=owner.auth)).status_code == 200
    ended = await events(database_url, "identity.session_revoked")
    assert sorted((e["sessionId"], e["reason"]) for e in ended) == sorted(
        [(laptop["sessionId"], "sso_logout"), (phone["sessionId"], "sso_logout")]
    )

    # The same token again is a replay: refused, nothing more ended.
    r = await send_logout(client, provider["id"], token)
    assert r.status_code == 400
    assert problem(r)["code"] == "logout_token_invalid"
    # A new sign-in is a new session, which a fresh token for the subject ends in turn.
    op.person("pat", "pat@acme.example")
    again = await signed_in_through(client, provider["id"])
    assert await alive(client, again)
    r = await send_logout(client, provider["id"], op.logout_token(sub=link["subject"]))
    assert r.status_code == 200
    assert not await alive(client, again)


async def test_a_logout_naming_a_provider_session_ends_that_session_only(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.person("pat", "pat@acme.example")
    op.sid_of["pat"] = "op-session-1"
    first = await signed_in_through(client, provider["id"])
    op.sid_of["pat"] = "op-session-2"
    second = await signed_in_through(client, provider["id"])

    r = await send_logout(client, provider["id"], op.logout_token(sid="op-session-1"))
    assert r.status_code == 200, r.text
    assert not await alive(client, first)
    assert await alive(client, second)
    # A session nobody here has is still a success (it may have ended here already).
    r = await send_logout(client, provider["id"], op.logout_token(sid="op-session-9"))
    assert r.status_code == 200
    assert await alive(client, second)


def _bad_tokens(op: LocalProvider, sub: str) -> dict[str, str]:
    """Tokens naming a real subject, each wrong in one way."""
    return {
        "another key under the provider's kid": op.logout_token(sub=sub, key=rsa_key()),
        "another issuer": op.logout_token(sub=sub, iss="https://elsewhere.example"),
        "another audience": op.logout_token(sub=sub, aud="another-client"),
        "no logout event": op.logout_token(sub=sub, events={"urn:other": {}}),
        "a nonce (an ID token)": op.logout_token(sub=sub, nonce="n-0S6_WzA2Mj"),
        "neither sub nor sid": op.logout_token(),
        "issued an hour ago": op.logout_token(sub=sub, iat=int(time.time()) - 3600),
        "no jti": op.logout_token(sub=sub, jti=None),
        "not a JWT": "not.a.jwt",
        "odd bytes": "\u00a0eyJ\x00",
    }


async def test_forged_stale_or_misaddressed_logout_tokens_end_nothing(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.person("pat", "pat@acme.example")
    pat = await signed_in_through(client, provider["id"])
    [link] = (await client.get(LINKS, headers=bearer(pat["accessToken"]))).json()["items"]
    for why, token in _bad_tokens(op, link["subject"]).items():
        r = await send_logout(client, provider["id"], token)
        assert r.status_code == 400, (why, r.text)
        assert problem(r)["code"] in ("logout_token_invalid", "validation_failed"), why
    # The right token, sent for another provider id, or without its field: refused too.
    good = op.logout_token(sub=link["subject"])
    r = await send_logout(client, str(uuid.uuid4()), good)
    assert r.status_code == 404
    assert problem(r)["code"] == "provider_not_found"
    r = await client.post(logout_url(provider["id"]), data={"token": good})
    assert r.status_code == 400
    assert await alive(client, pat)
    assert await events(database_url, "identity.session_revoked") == []


async def test_the_daily_discovery_refresh_follows_a_provider_that_began_to_publish_logout(
    client: Client, database_url: str, op: LocalProvider, settings: Settings
) -> None:
    """A provider saved while it published no end-session endpoint learns it from the
    daily refresh, without anyone saving it again; one whose discovery fails keeps what
    it had."""
    op.publishes_end_session = False
    owner, org, provider = await acme_org(client, database_url, op)
    op.allow_post_logout(FRONTEND)
    op.person("pat", "pat@acme.example")
    tokens = await signed_in_through(client, provider["id"])
    assert await sso_logout(client, tokens) is None
    r = await client.post(
        f"{API}/orgs/{org}/identity-providers",
        json={
            "name": "Gone IdP",
            "issuer": op.issuer,
            "clientId": CLIENT_ID,
            "clientSecret": "s3cret-gone",
        },
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    gone = r.json()["id"]
    await fetch(
        database_url,
        "UPDATE identity.identity_providers SET issuer = 'http://127.0.0.1:9' WHERE id = $1",
        uuid.UUID(gone),
    )
    before = await fetch(
        database_url,
        "SELECT endpoints FROM identity.identity_providers WHERE id = $1",
        uuid.UUID(gone),
    )

    op.publishes_end_session = True
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url)
    assemble(kernel, context_modules())
    try:
        done = await kernel.services["sso_providers"].refresh_discovery()
        assert (done.refreshed, done.failed, done.unchanged) == (1, 1, 0)
        again = await kernel.services["sso_providers"].refresh_discovery()
        assert (again.refreshed, again.failed, again.unchanged) == (0, 1, 1)
    finally:
        await kernel.close()
    # An operator runs the same now: `hub sso refresh` (exit 1 while one fails).
    env = {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_REDIS_URL": settings.redis_url,
        "HUB_OIDC_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",  # the provider is on loopback
    }
    result = await asyncio.to_thread(CliRunner().invoke, hub_main, ["sso", "refresh"], env=env)
    assert result.exit_code == 1, result.output
    assert "providers: 0 refreshed, 1 unchanged, 1 failed" in result.output
    after = await fetch(
        database_url,
        "SELECT endpoints FROM identity.identity_providers WHERE id = $1",
        uuid.UUID(gone),
    )
    assert after == before  # a failed discovery keeps the endpoints it had
    tokens = await signed_in_through(client, provider["id"])
    url = await sso_logout(client, tokens)
    assert url is not None
    assert url.startswith(f"{op.issuer}/end-session?")
