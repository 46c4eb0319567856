"""Single sign-on with OpenID Connect against a real provider the test starts locally
(pyop over HTTP, tests/integration/identity/oidc_provider.py): the flow signs people in
(just in time, with a membership), and a forged ID token, a wrong nonce, a replayed state
and an unverified address are each refused; linking needs the account's password; an
organisation requiring SSO refuses its members' passwords; secrets are sealed at rest;
provider administration keeps to its organisation."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.authenticator import SoftAuthenticator, register_passkey
from tests.integration.identity.oidc_provider import LocalProvider, rsa_key
from tests.integration.identity.sso_support import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    ORIGIN,
    Client,
    acme_org,
    add_provider,
    authorize,
    owner_and_org,
    sign_in,
    sso_settings,
    user_count,
)
from tests.integration.identity.support import (
    API,
    PASSKEYS,
    PASSWORD,
    bearer,
    events,
    fetch,
    login,
    signed_in,
)
from tests.integration.identity.support_orgs import (
    create_org,
    join,
    member_roles,
    person,
    roles_by_name,
)
from tests.integration.identity.support_tokens import with_claims
from tests.support import problem
from tests.support.dns_zone import LocalZone


@pytest.fixture
def settings(settings: Settings, zone: LocalZone) -> Settings:
    return sso_settings(settings, zone)


async def test_the_flow_signs_a_new_person_in_with_a_membership(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    owner, org = await owner_and_org(client, database_url)
    auditor = (await roles_by_name(client, org, owner))["auditor"]["id"]
    provider = await add_provider(
        client, org, owner, op, emailDomains=["Acme.Example"], defaultRoleId=auditor
    )
    assert provider["emailDomains"] == ["acme.example"]
    assert provider["redirectUri"].endswith(CALLBACK)
    op.person("pat", "Pat@Acme.example", name="Pat  Doe")

    r = await client.get(f"{API}/auth/sso/{provider['id']}/start", follow_redirects=False)
    sent = parse_qs(urlsplit(r.headers["location"]).query)
    assert r.headers["location"].startswith(f"{op.issuer}/authorize?")
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["client_id"] == [CLIENT_ID]
    assert len(sent["state"][0]) >= 43
    assert len(sent["nonce"][0]) >= 43
    assert "client_secret" not in sent

    r = await sign_in(client, provider["id"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    tokens = r.json()
    assert tokens["status"] == "authenticated"
    # PKCE: the token request carried the verifier; the secret went in the Basic header.
    exchange = op.token_requests[-1]
    assert len(exchange["code_verifier"]) >= 43
    assert "client_secret" not in exchange

    me = await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "pat@acme.example"
    assert me.json()["displayName"] == "Pat Doe"
    assert me.json()["emailVerified"] is True
    assert await member_roles(client, org, owner, tokens["userId"]) == ["auditor"]
    sessions = await fetch(
        database_url, "SELECT amr FROM identity.sessions WHERE user_id = $1", tokens["userId"]
    )
    assert [s["amr"] for s in sessions] == ["fed"]
    # No password was made up for the account: none signs in.
    assert (await login(client, "pat@acme.example", "")).status_code in (400, 401)

    # The second time, the linked subject signs into the same account; nothing new is made.
    users = await user_count(database_url)
    again = await sign_in(client, provider["id"])
    assert again.status_code == 200, again.text
    assert again.json()["userId"] == tokens["userId"]
    assert await user_count(database_url) == users
    assert await member_roles(client, org, owner, tokens["userId"]) == ["auditor"]


async def test_a_forged_id_token_is_refused(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.person("pat", "pat@acme.example")
    op.forge_with = rsa_key()  # same kid, another key: the signature cannot verify
    users = await user_count(database_url)
    r = await sign_in(client, provider["id"])
    assert r.status_code == 401, r.text
    assert problem(r)["code"] == "sso_id_token_invalid"
    assert await user_count(database_url) == users


async def test_a_wrong_nonce_is_refused(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.person("pat", "pat@acme.example")
    op.nonce_override = "a-nonce-of-another-sign-in"
    r = await sign_in(client, provider["id"])
    assert r.status_code == 401, r.text
    body = problem(r)
    assert body["code"] == "sso_id_token_invalid"
    assert "nonce" in body["detail"]


async def test_a_replayed_or_unknown_state_is_refused(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.person("pat", "pat@acme.example")
    callback = await authorize(client, provider["id"])
    assert (await client.get(callback)).status_code == 200
    replayed = await client.get(callback)
    assert replayed.status_code == 401, replayed.text
    assert problem(replayed)["code"] == "sso_state_invalid"

    code = parse_qs(urlsplit(await authorize(client, provider["id"])).query)["code"][0]
    forged = await client.get(CALLBACK, params={"code": code, "state": "made-up-state"})
    assert forged.status_code == 401
    assert problem(forged)["code"] == "sso_state_invalid"
    assert (await client.get(CALLBACK, params={"code": code})).status_code == 400


async def test_an_unverified_address_is_refused(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    await signed_in(client, database_url, "pat@acme.example")
    op.person("pat", "pat@acme.example", verified=False)
    users = await user_count(database_url)
    r = await sign_in(client, provider["id"])
    assert r.status_code == 403, r.text
    assert problem(r)["code"] == "sso_email_not_verified"
    op.person("newbie", "newbie@acme.example", verified=False)
    r = await sign_in(client, provider["id"])
    assert problem(r)["code"] == "sso_email_not_verified"
    assert await user_count(database_url) == users
    links = await fetch(database_url, "SELECT 1 FROM identity.sso_identities")
    assert links == []


async def test_an_existing_account_is_linked_only_with_its_password(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    owner, org, provider = await acme_org(client, database_url, op)
    existing = await signed_in(client, database_url, "ada@acme.example")
    op.person("ada", "ADA@acme.example")

    r = await sign_in(client, provider["id"])
    assert r.status_code == 200, r.text
    offer = r.json()
    assert offer["status"] == "link_required"
    assert offer["email"] == "ada@acme.example"
    assert "accessToken" not in offer
    # Not taken over: no session was opened for the account, nothing was linked.
    sessions = await fetch(
        database_url,
        "SELECT count(*) AS n FROM identity.sessions WHERE user_id = $1",
        existing["userId"],
    )
    assert sessions[0]["n"] == 1  # the password sign-in of signed_in()
    assert await fetch(database_url, "SELECT 1 FROM identity.sso_identities") == []

    link = f"{API}/auth/sso/link"
    wrong = await client.post(link, json={"linkToken": offer["linkToken"], "password": "nope"})
    assert wrong.status_code == 401
    assert problem(wrong)["code"] == "invalid_credentials"
    forged = await client.post(link, json={"linkToken": "hub_ssl_forged", "password": PASSWORD})
    assert problem(forged)["code"] == "sso_link_invalid"

    ok = await client.post(link, json={"linkToken": offer["linkToken"], "password": PASSWORD})
    assert ok.status_code == 200, ok.text
    assert ok.json()["userId"] == existing["userId"]
    # The sign-in's ID token came along for a later RP-initiated logout.
    (kept,) = await fetch(
        database_url,
        "SELECT id_token_sealed IS NOT NULL AS kept FROM identity.sso_sessions "
        "WHERE session_id = $1",
        uuid.UUID(ok.json()["sessionId"]),
    )
    assert kept["kept"]
    again = await client.post(link, json={"linkToken": offer["linkToken"], "password": PASSWORD})
    assert problem(again)["code"] == "sso_link_invalid"  # single use

    # From now on the provider signs straight into the account (and the domain's
    # membership came with the confirmed link).
    r = await sign_in(client, provider["id"])
    assert r.json()["status"] == "authenticated"
    assert r.json()["userId"] == existing["userId"]
    assert await member_roles(client, org, owner, existing["userId"]) == ["member"]


async def test_no_account_is_made_outside_the_configured_domains(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.person("eve", "eve@elsewhere.example")
    users = await user_count(database_url)
    r = await sign_in(client, provider["id"])
    assert r.status_code == 403
    assert problem(r)["code"] == "sso_no_account"
    assert await user_count(database_url) == users


async def test_an_organisation_requiring_sso_refuses_its_members_passwords(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    owner, org = await owner_and_org(client, database_url)
    member = await join(client, database_url, org, owner, "mia@acme.example")
    policy = f"{API}/orgs/{org}/sso-policy"
    assert (await client.get(policy, headers=owner.auth)).json()["required"] is False
    r = await client.put(policy, json={"required": True}, headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "no_identity_provider"

    provider = await add_provider(client, org, owner, op, emailDomains=["acme.example"])
    r = await client.put(policy, json={"required": True}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json()["required"] is True
    assert (
        await client.put(policy, json={"required": True}, headers=member.auth)
    ).status_code == 403

    refused = await login(client, member.email)
    assert refused.status_code == 403, refused.text
    body = problem(refused)
    assert body["code"] == "sso_required"
    assert body["extra"]["organisationId"] == org
    assert body["extra"]["providers"] == [{"id": provider["id"], "name": "Acme IdP"}]
    # A wrong password still answers as a wrong password (nothing told before it is right).
    assert problem(await login(client, member.email, "wrong"))["code"] == "invalid_credentials"
    # Owners keep their password: the way back in when the provider fails.
    assert (await login(client, owner.email)).status_code == 200

    # Through the provider the member gets in (confirming the link once).
    op.person("mia", member.email)
    offer = (await sign_in(client, provider["id"])).json()
    assert offer["status"] == "link_required"
    ok = await client.post(
        f"{API}/auth/sso/link", json={"linkToken": offer["linkToken"], "password": PASSWORD}
    )
    assert ok.status_code == 200, ok.text
    assert (await sign_in(client, provider["id"])).json()["status"] == "authenticated"

    assert (
        await client.put(policy, json={"required": False}, headers=owner.auth)
    ).status_code == 200
    assert (await login(client, member.email)).status_code == 200


async def test_client_credentials_are_sealed_at_rest_and_the_secret_never_returned(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(client, org, owner, op)
    assert provider["clientId"] == CLIENT_ID
    listed = await client.get(f"{API}/orgs/{org}/identity-providers", headers=owner.auth)
    one = await client.get(
        f"{API}/orgs/{org}/identity-providers/{provider['id']}", headers=owner.auth
    )
    for answer in (listed, one):
        assert answer.status_code == 200
        assert CLIENT_SECRET not in answer.text
        assert "clientSecret" not in answer.text
    (row,) = await fetch(
        database_url,
        "SELECT client_id_sealed, client_secret_sealed, row_to_json(p)::text AS whole "
        "FROM identity.identity_providers p",
    )
    assert CLIENT_SECRET.encode() not in row["client_secret_sealed"]
    assert CLIENT_ID.encode() not in row["client_id_sealed"]
    assert CLIENT_SECRET not in row["whole"]
    assert CLIENT_ID not in row["whole"]
    # A new secret replaces the sealed one (and the sign-in uses it: the provider
    # refuses the old one).
    r = await client.patch(
        f"{API}/orgs/{org}/identity-providers/{provider['id']}",
        json={"clientSecret": "rotated-secret-1"},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    (after,) = await fetch(
        database_url, "SELECT client_secret_sealed FROM identity.identity_providers"
    )
    assert after["client_secret_sealed"] != row["client_secret_sealed"]
    op.person("pat", "pat@corp.example")
    r = await sign_in(client, provider["id"])
    assert r.status_code == 401
    assert problem(r)["code"] == "sso_failed"


async def test_provider_administration_publishes_events_without_credentials(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    """Created, changed (naming what changed, a new secret included) and deleted reach the
    outbox, and so the audit trail and webhooks; the client id and secret never do."""
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(client, org, owner, op)
    path = f"{API}/orgs/{org}/identity-providers/{provider['id']}"
    r = await client.patch(
        path, json={"name": "Acme SSO", "clientSecret": "rotated-secret-1"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    # The same values again: nothing changed, nothing published.
    r = await client.patch(
        path,
        json={"name": "Acme SSO", "clientId": CLIENT_ID, "clientSecret": "rotated-secret-1"},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    r = await client.patch(path, json={"enabled": False}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (await client.delete(path, headers=owner.auth)).status_code == 204

    (created,) = await events(database_url, "identity.sso_provider_created")
    assert (created["providerId"], created["organisationId"]) == (provider["id"], org)
    assert (created["name"], created["issuer"], created["enabled"]) == ("Acme IdP", op.issuer, True)
    assert created["actorId"] == owner.user_id
    updates = await events(database_url, "identity.sso_provider_updated")
    assert [(u["changed"], u["name"], u["enabled"]) for u in updates] == [
        (["name", "clientSecret"], "Acme SSO", True),
        (["enabled"], "Acme SSO", False),
    ]
    (deleted,) = await events(database_url, "identity.sso_provider_deleted")
    assert (deleted["providerId"], deleted["name"]) == (provider["id"], "Acme SSO")
    rows = await fetch(
        database_url,
        "SELECT payload::text AS p FROM identity.outbox WHERE event_type LIKE 'identity.sso_%'",
    )
    assert len(rows) == 4
    for row in rows:
        for secret in (CLIENT_SECRET, CLIENT_ID, "rotated-secret-1"):
            assert secret not in row["p"]

    # A platform provider's events name no organisation.
    await fetch(
        database_url,
        "UPDATE identity.users SET is_platform_admin = true WHERE email = $1",
        owner.email,
    )
    body = {"name": "Platform", "issuer": op.issuer, "clientId": "a", "clientSecret": "b"}
    r = await client.post(f"{API}/identity-providers", json=body, headers=owner.auth)
    assert r.status_code == 201, r.text
    platform = (await events(database_url, "identity.sso_provider_created"))[-1]
    assert (platform["providerId"], platform["organisationId"]) == (r.json()["id"], None)


async def test_provider_administration_keeps_to_its_organisation(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(client, org, owner, op)
    path = f"{API}/orgs/{org}/identity-providers"
    outsider = await person(client, database_url, "outsider@other.example")
    other_org = (await create_org(client, outsider, "Other"))["id"]
    member = await join(client, database_url, org, owner, "plain@corp.example")

    # Not a member: 404 everywhere, as if the organisation did not exist.
    for method, url in (
        ("GET", path),
        ("GET", f"{path}/{provider['id']}"),
        ("PATCH", f"{path}/{provider['id']}"),
        ("DELETE", f"{path}/{provider['id']}"),
    ):
        r = await client.request(
            method, url, headers=outsider.auth, json={"name": "x"} if method == "PATCH" else None
        )
        assert r.status_code == 404, (method, url, r.text)
    # Another organisation's path does not reach it either.
    r = await client.get(
        f"{API}/orgs/{other_org}/identity-providers/{provider['id']}", headers=outsider.auth
    )
    assert r.status_code == 404
    assert problem(r)["code"] == "provider_not_found"
    assert (
        await client.get(f"{API}/orgs/{other_org}/identity-providers", headers=outsider.auth)
    ).json()["items"] == []
    # A member without identity.sso.manage: 403.
    assert (await client.get(path, headers=member.auth)).status_code == 403
    r = await client.post(
        path,
        json={"name": "x", "issuer": op.issuer, "clientId": "a", "clientSecret": "b"},
        headers=member.auth,
    )
    assert r.status_code == 403
    # The platform's providers: administrators only.
    platform = f"{API}/identity-providers"
    assert (
        problem(await client.get(platform, headers=owner.auth))["code"] == "platform_admin_required"
    )
    await fetch(
        database_url,
        "UPDATE identity.users SET is_platform_admin = true WHERE email = $1",
        owner.email,
    )
    assert (await client.get(platform, headers=owner.auth)).json()["items"] == []
    body = {
        "name": "Platform IdP",
        "issuer": op.issuer,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
    }
    r = await client.post(
        platform, json={**body, "defaultRoleId": provider["id"]}, headers=owner.auth
    )
    assert r.status_code == 422
    r = await client.post(
        platform, json={**body, "emailDomains": ["corp.example"]}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    assert r.json()["organisationId"] is None
    # The organisation's provider is not the platform's, and the other way round.
    assert (await client.get(f"{platform}/{provider['id']}", headers=owner.auth)).status_code == 404
    assert (await client.get(f"{path}/{r.json()['id']}", headers=owner.auth)).status_code == 404

    # Through the platform provider, a new person at its domain gets an account only.
    op.person("neo", "neo@corp.example")
    signed = await sign_in(client, r.json()["id"])
    assert signed.json()["status"] == "authenticated"
    assert (
        await fetch(
            database_url,
            "SELECT 1 FROM identity.memberships WHERE user_id = $1",
            signed.json()["userId"],
        )
        == []
    )

    # Disabled or deleted: the sign-in does not start.
    r = await client.patch(f"{path}/{provider['id']}", json={"enabled": False}, headers=owner.auth)
    assert r.json()["enabled"] is False
    assert (await client.get(f"{API}/auth/sso/{provider['id']}/start")).status_code == 404
    assert (await client.delete(f"{path}/{provider['id']}", headers=owner.auth)).status_code == 204
    assert (await client.get(f"{path}/{provider['id']}", headers=owner.auth)).status_code == 404


async def test_an_unusable_issuer_is_refused_when_saved(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    owner, org = await owner_and_org(client, database_url)
    path = f"{API}/orgs/{org}/identity-providers"
    body = {"name": "IdP", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
    for issuer in (
        f"{op.issuer}/elsewhere",  # no discovery document there
        "http://10.1.2.3",  # a private network not allowed
        "http://localhost:9",
        "https://169.254.169.254",  # cloud metadata
        "ftp://idp.example",
    ):
        r = await client.post(path, json={**body, "issuer": issuer}, headers=owner.auth)
        assert r.status_code == 422, (issuer, r.text)
    r = await client.post(
        path,
        json={**body, "issuer": op.issuer, "emailDomains": ["not a domain"]},
        headers=owner.auth,
    )
    assert r.status_code == 422
    roles = await roles_by_name(client, org, owner)
    r = await client.post(
        path,
        json={**body, "issuer": op.issuer, "defaultRoleId": roles["owner"]["id"]},
        headers=owner.auth,
    )
    assert r.status_code == 422
    assert await fetch(database_url, "SELECT 1 FROM identity.identity_providers") == []


async def test_a_rotated_secret_key_reseals_the_client_credentials(
    client: Client, settings: Settings, database_url: str, op: LocalProvider
) -> None:
    from tests.integration.identity.test_secret_rotation import B, hub_secrets, running

    _, _, provider = await acme_org(client, database_url, op)
    sealed = "SELECT client_secret_sealed FROM identity.identity_providers"
    (before,) = await fetch(database_url, sealed)
    rotated = await asyncio.to_thread(hub_secrets, settings, "rotate", B, settings.secret_key)
    assert "SSO client ids: 1 moved to the current key" in rotated
    assert "SSO client secrets: 1 moved to the current key" in rotated
    (after,) = await fetch(database_url, sealed)
    assert after["client_secret_sealed"] != before["client_secret_sealed"]
    # The old key is gone: the credentials open under the new one alone; sign-in works.
    async with running(settings, B) as rotated_app:
        op.person("pat", "pat@acme.example")
        r = await sign_in(rotated_app, provider["id"])
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "authenticated"


async def test_an_expired_id_token_is_refused_on_the_kernel_clock(
    app: Litestar, client: Client, database_url: str, op: LocalProvider
) -> None:
    clock = MovableClock(datetime.now(UTC))
    app.state.kernel.services["sso_sign_in"].clock = clock
    _, _, provider = await acme_org(client, database_url, op)
    op.person("pat", "pat@acme.example")
    clock.advance(hours=2)  # the provider's ID tokens live one hour
    r = await sign_in(client, provider["id"])
    assert r.status_code == 401, r.text
    body = problem(r)
    assert body["code"] == "sso_id_token_invalid"
    assert "expired" in body["detail"]
    clock.set(datetime.now(UTC))
    assert (await sign_in(client, provider["id"])).status_code == 200


# ---------------------------------------------------------------- a user's own links

LINKS = f"{API}/auth/sso-links"


async def test_a_person_lists_and_unlinks_their_providers(
    client: Client, app: Litestar, database_url: str, op: LocalProvider
) -> None:
    owner, org, provider = await acme_org(client, database_url, op)
    existing = await signed_in(client, database_url, "ada@acme.example")
    op.person("ada-sub", "ada@acme.example")
    offer = (await sign_in(client, provider["id"])).json()
    linked = await client.post(
        f"{API}/auth/sso/link", json={"linkToken": offer["linkToken"], "password": PASSWORD}
    )
    assert linked.status_code == 200, linked.text
    ada = bearer(linked.json()["accessToken"])

    r = await client.get(LINKS, headers=ada)
    assert r.status_code == 200, r.text
    [link] = r.json()["items"]
    assert link["providerId"] == provider["id"]
    assert link["providerName"] == "Acme IdP"
    assert link["issuer"] == op.issuer
    assert link["organisationId"] == org
    # The provider's (pairwise) identifier of the person, as the link stores it.
    stored = await fetch(database_url, "SELECT subject FROM identity.sso_identities")
    assert [link["subject"]] == [row["subject"] for row in stored]
    assert datetime.fromisoformat(link["linkedAt"]) <= datetime.now(UTC)
    # The link is part of the person's data export (GDPR Article 15).
    archive = (await client.get(f"{API}/auth/me/export", headers=ada)).json()
    exported = archive["contexts"]["identity"]["ssoLinks"]
    assert [(x["id"], x["provider_name"], x["subject"]) for x in exported] == [
        (link["id"], "Acme IdP", link["subject"])
    ]
    # Someone else sees none of it and cannot remove it.
    assert (await client.get(LINKS, headers=owner.auth)).json()["items"] == []
    r = await client.delete(f"{LINKS}/{link['id']}", headers=owner.auth)
    assert r.status_code == 404
    assert problem(r)["code"] == "sso_link_not_found"
    # A stale sign-in may not unlink: a stolen token must not cut the owner off.
    stale = bearer(
        await with_claims(app, linked.json()["accessToken"], auth_time=int(time.time()) - 3600)
    )
    r = await client.delete(f"{LINKS}/{link['id']}", headers=stale)
    assert r.status_code == 403
    assert problem(r)["code"] == "reauthentication_required"
    assert len(await fetch(database_url, "SELECT 1 FROM identity.sso_identities")) == 1

    r = await client.delete(f"{LINKS}/{link['id']}", headers=ada)
    assert r.status_code == 204, r.text
    assert await fetch(database_url, "SELECT 1 FROM identity.sso_identities") == []
    assert [
        (e["userId"], e["linkId"], e["providerId"])
        for e in await events(database_url, "identity.sso_link_removed")
    ] == [(existing["userId"], link["id"], provider["id"])]
    assert (await client.get(LINKS, headers=ada)).json()["items"] == []
    r = await client.delete(f"{LINKS}/{link['id']}", headers=ada)
    assert r.status_code == 404
    # The provider no longer signs straight in: the address offers a link again.
    r = await sign_in(client, provider["id"])
    assert r.json()["status"] == "link_required"


async def test_the_last_way_into_an_account_made_by_sso_is_kept(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    op.person("pat", "pat@acme.example")
    tokens = (await sign_in(client, provider["id"])).json()
    assert tokens["status"] == "authenticated"
    pat = bearer(tokens["accessToken"])
    [link] = (await client.get(LINKS, headers=pat)).json()["items"]
    r = await client.delete(f"{LINKS}/{link['id']}", headers=pat)
    assert r.status_code == 409
    assert problem(r)["code"] == "last_sign_in_method"
    assert len(await fetch(database_url, "SELECT 1 FROM identity.sso_identities")) == 1
    assert await events(database_url, "identity.sso_link_removed") == []

    # A passkey is a way in: the link may go, and then that passkey is the last one.
    laptop, phone = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    first = await register_passkey(client, pat, laptop)
    r = await client.delete(f"{LINKS}/{link['id']}", headers=pat)
    assert r.status_code == 204, r.text
    r = await client.delete(f"{PASSKEYS}/{first['id']}", headers=pat)
    assert r.status_code == 409
    assert problem(r)["code"] == "last_sign_in_method"
    assert len(await fetch(database_url, "SELECT 1 FROM identity.passkeys")) == 1
    assert await events(database_url, "identity.passkey_removed") == []
    # With a second passkey either may go, but not both.
    second = await register_passkey(client, pat, phone, "Phone")
    r = await client.delete(f"{PASSKEYS}/{first['id']}", headers=pat)
    assert r.status_code == 204, r.text
    r = await client.delete(f"{PASSKEYS}/{second['id']}", headers=pat)
    assert r.status_code == 409
    assert [p["id"] for p in (await client.get(PASSKEYS, headers=pat)).json()["items"]] == [
        second["id"]
    ]
    assert len(await events(database_url, "identity.passkey_removed")) == 1


async def test_a_provider_keeping_the_address_out_of_its_id_tokens_is_asked_userinfo(
    client: Client, database_url: str, op: LocalProvider
) -> None:
    _, _, provider = await acme_org(client, database_url, op)
    # A provider honouring the claims parameter is not asked again.
    op.person("ann", "ann@acme.example", name="Ann Lee")
    assert (await sign_in(client, provider["id"])).json()["status"] == "authenticated"
    assert op.userinfo_requests == []

    op.ignores_claims_parameter = True
    op.person("pat", "pat@acme.example", name="Pat Doe")
    r = await sign_in(client, provider["id"])
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["status"] == "authenticated"
    [asked] = op.userinfo_requests
    assert asked.removeprefix("Bearer ") not in ("", asked)
    me = (await client.get(f"{API}/auth/me", headers=bearer(tokens["accessToken"]))).json()
    assert (me["email"], me["emailVerified"], me["displayName"]) == (
        "pat@acme.example",
        True,
        "Pat Doe",
    )
    made = await user_count(database_url)

    # UserInfo's word on verification counts as the ID token's would.
    op.person("sam", "sam@acme.example", verified=False)
    r = await sign_in(client, provider["id"])
    assert r.status_code == 403
    assert problem(r)["code"] == "sso_email_not_verified"
    # An answer about someone else is refused (OIDC Core 5.3.2): no account is made.
    op.person("kim", "kim@acme.example")
    op.userinfo_subject = "someone-else"
    r = await sign_in(client, provider["id"])
    assert r.status_code == 401
    assert problem(r)["code"] == "sso_id_token_invalid"
    assert "another subject" in problem(r)["detail"]
    assert await user_count(database_url) == made
