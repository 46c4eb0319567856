"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0) from a real provider: a
logout token it signs ends the hub sessions opened through it for that subject or that
provider session — access and refresh tokens at once — and nothing else; a forged,
stale, misaddressed or replayed token is refused and ends nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from hub.kernel.settings import Settings
from tests.integration.identity.oidc_provider import LocalProvider, rsa_key
from tests.integration.identity.sso_support import (
    Client,
    add_provider,
    owner_and_org,
    sign_in,
    sso_settings,
)
from tests.integration.identity.support import API, bearer, events
from tests.support import problem
from tests.support.dns_zone import LocalZone

LINKS = f"{API}/auth/sso-links"


@pytest.fixture
def settings(settings: Settings, zone: LocalZone) -> Settings:
    return sso_settings(settings, zone)


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
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(client, org, owner, op, emailDomains=["acme.example"])
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
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(client, org, owner, op, emailDomains=["acme.example"])
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
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(client, org, owner, op, emailDomains=["acme.example"])
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
