"""`hub demo` against the test database: the organisations, people, packs, sample
documents and draft consultation it creates, what each demo person can and cannot see,
and a second run (the command itself) that creates nothing new."""

from __future__ import annotations

import asyncio
from typing import Any

from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.cli import main as hub_main
from hub.demo import DEMO_PASSWORD, PEOPLE, populate, provision
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.packs.wiring import add_pack_engine
from tests.integration.identity.support import API, fetch

Client = AsyncTestClient[Litestar]


async def signed_in(client: Client, email: str) -> dict[str, str]:
    r = await client.post(f"{API}/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


async def titles(client: Client, who: dict[str, str], org: Any) -> dict[str, str]:
    r = await client.get(f"{API}/documents", params={"organisationId": str(org)}, headers=who)
    assert r.status_code == 200, r.text
    return {d["title"]: d["id"] for d in r.json()["items"]}


async def test_the_demo_sets_up_both_stories(
    client: Client, kernel: Kernel, settings: Settings, database_url: str
) -> None:
    assemble(kernel, context_modules())
    add_pack_engine(kernel.services)
    steps: list[str] = []
    result = await provision(kernel.services, steps.append)
    await populate(client, result)
    assert set(result.organisations) == {
        "Ville de Lyon",
        "Bâtiments Durables SARL",
        "Cabinet Pasteur",
    }
    assert len(result.users) == len({p.email for p in PEOPLE}) == 13
    assert "pack procurement -> Ville de Lyon" in steps
    lyon, pasteur = result.organisations["Ville de Lyon"], result.organisations["Cabinet Pasteur"]

    # every person signs in with the printed password and holds the roles listed
    buyer = await signed_in(client, "acheteur.lyon@example.com")
    r = await client.get(f"{API}/orgs/{lyon}/members", headers=buyer)
    roles = {m["email"]: [x["name"] for x in m["roles"]] for m in r.json()["items"]}
    assert roles["acheteur.lyon@example.com"] == ["buyer"]
    assert roles["beta.fournisseur@example.com"] == ["supplier"]

    # procurement: the dossier and a consultation in draft; the sample offer is sealed
    seen = await titles(client, buyer, lyon)
    assert {t.split(" — ")[0] for t in seen} == {"RC", "CCAP", "CCTP"}
    offer = await titles(client, await signed_in(client, "alpha.fournisseur@example.com"), lyon)
    (offer_id,) = [i for t, i in offer.items() if t.startswith("Offre")]
    beta = await signed_in(client, "beta.fournisseur@example.com")
    assert (await client.get(f"{API}/documents/{offer_id}", headers=beta)).status_code == 404
    assert (await client.get(f"{API}/documents/{offer_id}", headers=buyer)).status_code == 404
    r = await client.get(f"{API}/workflow-instances/{result.consultation}", headers=buyer)
    assert r.json()["state"] == "draft"

    # medical: the record reaches the care team, not another patient nor the staff
    (record,) = [
        i
        for t, i in (
            await titles(client, await signed_in(client, "dr.martin@example.com"), pasteur)
        ).items()
        if t.startswith("Patient record")
    ]
    durand = await signed_in(client, "dr.durand@example.com")
    assert (await client.get(f"{API}/documents/{record}", headers=durand)).status_code == 200
    for outsider in ("louis@example.com", "accueil.pasteur@example.com"):
        who = await signed_in(client, outsider)
        assert (await client.get(f"{API}/documents/{record}", headers=who)).status_code == 404

    # the command, run again: nothing new, and the credentials printed
    counts = await fetch(database_url, "SELECT count(*) AS n FROM content.documents")
    env = {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_REDIS_URL": settings.redis_url,
        "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
        "HUB_PASSWORD_HASH_TIME_COST": "1",
    }
    run = await asyncio.to_thread(CliRunner().invoke, hub_main, ["demo"], env=env)
    assert run.exit_code == 0, run.output
    assert f"Password of every account: {DEMO_PASSWORD}" in run.output
    assert "acheteur.lyon@example.com" in run.output
    assert str(result.consultation) in run.output
    again = await fetch(database_url, "SELECT count(*) AS n FROM content.documents")
    assert again[0]["n"] == counts[0]["n"] == 6
    orgs = await fetch(database_url, "SELECT count(*) AS n FROM identity.organisations")
    assert orgs[0]["n"] == 3
