"""What the single sign-on tests share: a real OpenID Connect provider (pyop over HTTP),
a real DNS zone for the organisations' domain proofs, and the steps of a sign-in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.settings import Settings
from tests.integration.identity.oidc_provider import LocalProvider
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, person
from tests.support.dns_zone import LocalZone

Client = AsyncTestClient[Litestar]
CLIENT_ID = "hub-test-client"
CLIENT_SECRET = "op-client-secret-7f3a9c"
CALLBACK = f"{API}/auth/sso/callback"
ORIGIN = "https://app.hub.example"


def sso_settings(settings: Settings, zone: LocalZone) -> Settings:
    """The settings of a single sign-on test: the provider on loopback, domain proofs
    asked of ``zone``, passkeys for the last-way-in tests."""
    return settings.replace(
        dns_nameservers=("127.0.0.1",),
        dns_port=zone.port,
        dns_timeout_seconds=1,
        oidc_allow_private_networks=("127.0.0.0/8",),
        webauthn_rp_id="hub.example",
        webauthn_origins=(ORIGIN,),
    )


async def prove_domain(
    client: Client, org_id: str, who: Person, zone: LocalZone, domain: str
) -> dict[str, Any]:
    """Claim ``domain`` for the organisation, publish its TXT record, verify it."""
    r = await client.post(f"{API}/orgs/{org_id}/domains", json={"domain": domain}, headers=who.auth)
    assert r.status_code == 201, r.text
    claimed = r.json()
    zone.txt.setdefault(claimed["recordName"], []).append(claimed["recordValue"])
    r = await client.post(f"{API}/orgs/{org_id}/domains/{claimed['id']}/verify", headers=who.auth)
    assert r.status_code == 200, r.text
    proved: dict[str, Any] = r.json()
    return proved


async def add_provider(
    client: Client, org_id: str, who: Person, op: LocalProvider, *, prove: bool = True, **extra: Any
) -> dict[str, Any]:
    """An organisation's provider; its ``emailDomains`` proved first unless ``prove`` is
    false (the rule of HUB_SSO_VERIFIED_DOMAINS_ONLY)."""
    for domain in extra.get("emailDomains", []) if prove else []:
        await prove_domain(client, org_id, who, op.zone, domain)
    body = {
        "name": "Acme IdP",
        "issuer": op.issuer,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        **extra,
    }
    r = await client.post(f"{API}/orgs/{org_id}/identity-providers", json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def authorize(client: Client, provider_id: str) -> str:
    """Start at the hub, follow its redirect to the provider over real HTTP, and return
    the path and query the provider sends the browser back to."""
    r = await client.get(f"{API}/auth/sso/{provider_id}/start", follow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient() as browser:
        at_op = await browser.get(r.headers["location"])
    assert at_op.status_code == 302, at_op.text
    back = urlsplit(at_op.headers["location"])
    assert back.path == CALLBACK
    return f"{back.path}?{back.query}"


async def sign_in(client: Client, provider_id: str) -> httpx.Response:
    return await client.get(await authorize(client, provider_id))


async def owner_and_org(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@corp.example")
    return owner, (await create_org(client, owner))["id"]


async def acme_org(
    client: Client, database_url: str, op: LocalProvider
) -> tuple[Person, str, dict[str, Any]]:
    """An owner, their organisation, and its provider for the proved domain acme.example:
    the starting point of most single sign-on tests."""
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(client, org, owner, op, emailDomains=["acme.example"])
    return owner, org, provider


async def user_count(database_url: str) -> int:
    return int((await fetch(database_url, "SELECT count(*) AS n FROM identity.users"))[0]["n"])
