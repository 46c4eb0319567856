"""An organisation's domains, proved over real DNS (a server on loopback answering TXT
queries): claiming, verifying, the race between two organisations, a silent name server,
tenancy, and the rule they exist for — an organisation's identity provider makes
accounts only at domains the organisation proved."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.cli import main as hub_main
from hub.kernel.settings import Settings
from tests.integration.identity.oidc_provider import LocalProvider
from tests.integration.identity.sso_support import (
    Client,
    add_provider,
    owner_and_org,
    prove_domain,
    sign_in,
    sso_settings,
    user_count,
)
from tests.integration.identity.support import API, events, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person
from tests.support import problem
from tests.support.dns_zone import LocalZone


@pytest.fixture
def settings(settings: Settings, zone: LocalZone) -> Settings:
    return sso_settings(settings, zone)


def domains(org: str) -> str:
    return f"{API}/orgs/{org}/domains"


async def claim(client: Client, org: str, who: Person, domain: str) -> dict[str, Any]:
    r = await client.post(domains(org), json={"domain": domain}, headers=who.auth)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def stored(database_url: str) -> list[tuple[str, str, bool]]:
    rows = await fetch(
        database_url,
        "SELECT organisation_id::text AS org, domain, verified_at IS NOT NULL AS verified "
        "FROM identity.organisation_domains ORDER BY created_at",
    )
    return [(r["org"], r["domain"], r["verified"]) for r in rows]


async def test_a_domain_is_claimed_then_proved_by_its_txt_record(
    client: Client, database_url: str, zone: LocalZone
) -> None:
    owner, org = await owner_and_org(client, database_url)
    claimed = await claim(client, org, owner, "  Acme.Example ")
    assert claimed["domain"] == "acme.example"
    assert claimed["verified"] is False
    assert claimed["verifiedAt"] is None
    assert claimed["recordName"] == "_hub-challenge.acme.example"
    assert claimed["recordValue"].startswith("hub-domain-verification=")
    assert len(claimed["recordValue"]) > len("hub-domain-verification=") + 30
    [added] = await events(database_url, "identity.domain_added")
    assert (added["organisationId"], added["domainId"], added["domain"]) == (
        org,
        claimed["id"],
        "acme.example",
    )
    # The same domain twice: refused, nothing added.
    r = await client.post(domains(org), json={"domain": "ACME.example"}, headers=owner.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "domain_exists"

    verify = f"{domains(org)}/{claimed['id']}/verify"
    # No record yet: the answer names the record to publish, and the server was asked.
    r = await client.post(verify, headers=owner.auth)
    assert r.status_code == 409
    body = problem(r)
    assert body["code"] == "domain_not_verified"
    assert body["extra"] == {
        "recordName": "_hub-challenge.acme.example",
        "recordValue": claimed["recordValue"],
    }
    assert zone.queries == ["_hub-challenge.acme.example"]
    # A record holding something else proves nothing.
    zone.txt["_hub-challenge.acme.example"] = ["hub-domain-verification=someone-else"]
    r = await client.post(verify, headers=owner.auth)
    assert r.status_code == 409
    assert await stored(database_url) == [(org, "acme.example", False)]
    assert await events(database_url, "identity.domain_verified") == []

    # The right value, beside another organisation's: verified.
    zone.txt["_hub-challenge.acme.example"].append(claimed["recordValue"])
    r = await client.post(verify, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True
    assert r.json()["verifiedAt"] is not None
    assert await stored(database_url) == [(org, "acme.example", True)]
    # Again: answered as it is, no second event, no lookup needed.
    asked = len(zone.queries)
    r = await client.post(verify, headers=owner.auth)
    assert r.status_code == 200
    assert len(zone.queries) == asked
    [verified] = await events(database_url, "identity.domain_verified")
    assert (verified["organisationId"], verified["domain"]) == (org, "acme.example")
    listed = (await client.get(domains(org), headers=owner.auth)).json()["items"]
    assert [(d["id"], d["verified"]) for d in listed] == [(claimed["id"], True)]


@pytest.mark.parametrize(
    "domain", ["not a domain", "acme", "acme..example", "ac\u0000me.example", "a@b.example", ""]
)
async def test_a_bad_domain_is_refused_and_nothing_is_stored(
    client: Client, database_url: str, domain: str
) -> None:
    owner, org = await owner_and_org(client, database_url)
    r = await client.post(domains(org), json={"domain": domain}, headers=owner.auth)
    assert r.status_code in (400, 422), r.text
    assert any(e["field"] == "domain" for e in problem(r)["errors"])
    assert await stored(database_url) == []


async def taken(
    client: Client, database_url: str, zone: LocalZone
) -> tuple[Person, str, Person, str, str]:
    """An organisation proved acme.example; a rival claimed it too and published its
    record: claiming is open to anyone, verifying is not (409 ``domain_taken``). The
    owner, its organisation, the rival, theirs, and the rival's verify URL."""
    owner, org = await owner_and_org(client, database_url)
    await prove_domain(client, org, owner, zone, "acme.example")
    rival = await person(client, database_url, "rival@corp.example")
    rival_org = (await create_org(client, rival, "Rival"))["id"]
    theirs = await claim(client, rival_org, rival, "acme.example")
    zone.txt[theirs["recordName"]].append(theirs["recordValue"])
    verify = f"{domains(rival_org)}/{theirs['id']}/verify"
    r = await client.post(verify, headers=rival.auth)
    assert r.status_code == 409
    assert problem(r)["code"] == "domain_taken"
    return owner, org, rival, rival_org, verify


async def test_a_verified_domain_belongs_to_one_organisation_until_it_is_given_up(
    client: Client, database_url: str, zone: LocalZone
) -> None:
    owner, org, rival, rival_org, verify = await taken(client, database_url, zone)
    assert await stored(database_url) == [
        (org, "acme.example", True),
        (rival_org, "acme.example", False),
    ]
    # Given up by its owner, it can be verified by the other.
    [mine] = (await client.get(domains(org), headers=owner.auth)).json()["items"]
    r = await client.delete(f"{domains(org)}/{mine['id']}", headers=owner.auth)
    assert r.status_code == 204
    [removed] = await events(database_url, "identity.domain_removed")
    assert (removed["domain"], removed["wasVerified"]) == ("acme.example", True)
    r = await client.post(verify, headers=rival.auth)
    assert r.status_code == 200, r.text
    assert await stored(database_url) == [(rival_org, "acme.example", True)]


def hub_domains(settings: Settings, *args: str) -> Any:
    env = {"HUB_DATABASE_URL": settings.database_url, "HUB_REDIS_URL": settings.redis_url}
    return CliRunner().invoke(hub_main, ["domains", *args], env=env)


async def test_an_operator_releases_a_domain_that_changed_hands(
    client: Client, database_url: str, zone: LocalZone, settings: Settings
) -> None:
    """`hub domains release`: the organisation holding a domain will not give it up (or is
    gone); the operator frees it and the new holder proves it."""
    _, org, rival, rival_org, verify = await taken(client, database_url, zone)
    for odd in ("ac\u0000me.example", "not a domain"):
        refused = await asyncio.to_thread(hub_domains, settings, "release", odd)
        assert refused.exit_code == 1
        assert "is not a domain name" in refused.output
    assert len(await stored(database_url)) == 2  # nothing changed

    done = await asyncio.to_thread(hub_domains, settings, "release", "ACME.example")
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"released acme.example from organisation {org} (Acme)"
    [removed] = await events(database_url, "identity.domain_removed")
    assert (removed["organisationId"], removed["actorId"]) == (org, None)
    assert (removed["domain"], removed["wasVerified"]) == ("acme.example", True)
    # The rival's unverified claim stays, and now proves the domain.
    assert await stored(database_url) == [(rival_org, "acme.example", False)]
    r = await client.post(verify, headers=rival.auth)
    assert r.status_code == 200, r.text
    # Nothing verified at that name any more under the first organisation: a clear error.
    again = await asyncio.to_thread(hub_domains, settings, "release", "other.example")
    assert again.exit_code == 1
    assert "no organisation verified other.example" in again.output


async def test_a_name_server_that_does_not_answer_is_a_503_that_changes_nothing(
    client: Client, database_url: str, zone: LocalZone
) -> None:
    owner, org = await owner_and_org(client, database_url)
    claimed = await claim(client, org, owner, "acme.example")
    zone.txt[claimed["recordName"]] = [claimed["recordValue"]]
    zone.silent = True
    r = await client.post(f"{domains(org)}/{claimed['id']}/verify", headers=owner.auth)
    assert r.status_code == 503
    assert problem(r)["extra"] == {"dependency": "dns"}
    assert int(r.headers["retry-after"]) > 0
    assert await stored(database_url) == [(org, "acme.example", False)]


async def test_domains_keep_to_their_organisation(
    client: Client, database_url: str, zone: LocalZone
) -> None:
    owner, org = await owner_and_org(client, database_url)
    claimed = await claim(client, org, owner, "acme.example")
    mine = f"{domains(org)}/{claimed['id']}"
    member = await join(client, database_url, org, owner, "member@corp.example")
    r = await client.post(domains(org), json={"domain": "b.example"}, headers=member.auth)
    assert r.status_code == 403
    assert (await client.delete(mine, headers=member.auth)).status_code == 403
    stranger = await person(client, database_url, "stranger@corp.example")
    assert (await client.get(domains(org), headers=stranger.auth)).status_code == 404
    other_org = (await create_org(client, stranger, "Other"))["id"]
    # Another organisation's domain id, through one's own organisation: not found.
    r = await client.post(f"{domains(other_org)}/{claimed['id']}/verify", headers=stranger.auth)
    assert r.status_code == 404
    assert problem(r)["code"] == "domain_not_found"
    r = await client.delete(f"{domains(other_org)}/{claimed['id']}", headers=stranger.auth)
    assert r.status_code == 404
    assert zone.queries == []
    assert await stored(database_url) == [(org, "acme.example", False)]


async def test_a_provider_makes_accounts_only_at_proved_domains(
    client: Client, database_url: str, op: LocalProvider, zone: LocalZone
) -> None:
    owner, org = await owner_and_org(client, database_url)
    provider = await add_provider(
        client, org, owner, op, prove=False, emailDomains=["acme.example"]
    )
    assert provider["unverifiedDomains"] == ["acme.example"]
    users = await user_count(database_url)
    op.person("pat", "pat@acme.example")
    r = await sign_in(client, provider["id"])
    assert r.status_code == 403
    assert problem(r)["code"] == "sso_domain_unverified"
    assert await user_count(database_url) == users

    proved = await prove_domain(client, org, owner, zone, "acme.example")
    providers = f"{API}/orgs/{org}/identity-providers"
    shown = (await client.get(f"{providers}/{provider['id']}", headers=owner.auth)).json()
    assert shown["unverifiedDomains"] == []
    r = await sign_in(client, provider["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "authenticated"
    assert await user_count(database_url) == users + 1

    # Given up: no more accounts there (the one made stays, and still signs in).
    r = await client.delete(f"{domains(org)}/{proved['id']}", headers=owner.auth)
    assert r.status_code == 204
    op.person("sam", "sam@acme.example")
    r = await sign_in(client, provider["id"])
    assert problem(r)["code"] == "sso_domain_unverified"
    op.person("pat", "pat@acme.example")
    assert (await sign_in(client, provider["id"])).json()["status"] == "authenticated"


async def test_an_operator_may_trust_organisations_with_their_domains(
    settings: Settings, clean_state: None, database_url: str, op: LocalProvider
) -> None:
    trusting = create_app(settings.replace(sso_verified_domains_only=False), configure_logs=False)
    async with AsyncTestClient(app=trusting, base_url="http://testserver.local") as client:
        owner, org = await owner_and_org(client, database_url)
        provider = await add_provider(
            client, org, owner, op, prove=False, emailDomains=["acme.example"]
        )
        assert provider["unverifiedDomains"] == []
        op.person("pat", "pat@acme.example")
        r = await sign_in(client, provider["id"])
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "authenticated"
