"""``hub demo``: the two stories of the hub, ready to try.

Creates (idempotently: a second run finds what the first made) the demo organisations —
the city of Lyon running a consultation on the ``procurement`` pack, a supplier firm with
its own organisation, the Pasteur practice on the ``medical`` pack — and their people
(one shared password, printed), applies the packs, uploads the packs' sample documents
as their owners through the HTTP API and leaves a consultation in draft for the buyer to
publish. Accounts, organisations and memberships go through identity's provisioning
interface (an operator's set-up: no e-mail round trip); everything else is what a client
does over HTTP, so the demo also shows the API working end to end.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.identity.api import IdentityConfigApi
from hub.packs.engine import PackEngine
from hub.packs.files import read_pack
from hub.packs.format import PackDocument
from hub.packs.shipped import pack_path

API = "/api/v1"
#: Every demo account's password (printed by ``hub demo``; a demo, never production).
DEMO_PASSWORD = "lilac-harbour-demo-2026"  # noqa: S105  (published: a demo)


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    organisation: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    owner: str
    pack: str | None


ORGANISATIONS = (
    DemoOrganisation("Ville de Lyon", "dsi.lyon@example.com", "procurement"),
    DemoOrganisation("Bâtiments Durables SARL", "alpha.fournisseur@example.com", None),
    DemoOrganisation("Cabinet Pasteur", "direction.pasteur@example.com", "medical"),
)
PEOPLE = (
    Member("dsi.lyon@example.com", "DSI de la Ville de Lyon", "Ville de Lyon", ("owner",)),
    Member("acheteur.lyon@example.com", "Claire Acheteuse", "Ville de Lyon", ("buyer",)),
    Member("eval1.lyon@example.com", "Paul Évaluateur", "Ville de Lyon", ("evaluator",)),
    Member("eval2.lyon@example.com", "Inès Évaluatrice", "Ville de Lyon", ("evaluator",)),
    Member("eval3.lyon@example.com", "Marc Évaluateur", "Ville de Lyon", ("evaluator",)),
    Member("alpha.fournisseur@example.com", "Bâtiments Durables", "Ville de Lyon", ("supplier",)),
    Member("beta.fournisseur@example.com", "Rénov'Est", "Ville de Lyon", ("supplier",)),
    Member(
        "alpha.fournisseur@example.com", "Bâtiments Durables", "Bâtiments Durables SARL", ("owner",)
    ),
    Member("direction.pasteur@example.com", "Direction du cabinet", "Cabinet Pasteur", ("owner",)),
    Member("dr.martin@example.com", "Dr Martin", "Cabinet Pasteur", ("practitioner",)),
    Member("dr.durand@example.com", "Dr Durand", "Cabinet Pasteur", ("practitioner",)),
    Member("accueil.pasteur@example.com", "Sophie (accueil)", "Cabinet Pasteur", ("staff",)),
    Member("camille@example.com", "Camille Martin", "Cabinet Pasteur", ("patient",)),
    Member("louis@example.com", "Louis Bernard", "Cabinet Pasteur", ("patient",)),
)
#: Steps the progress bar counts: accounts, organisations, packs, members, the HTTP part.
STEPS = (
    len({p.email for p in PEOPLE})
    + len(ORGANISATIONS)
    + sum(1 for o in ORGANISATIONS if o.pack)
    + sum(1 for p in PEOPLE if p.roles != ("owner",))
    + 1
)


@dataclass
class DemoResult:
    organisations: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    documents: list[str] = field(default_factory=list)
    consultation: str | None = None


def _pack(name: str) -> PackDocument:
    document, problems = read_pack(pack_path(name))
    if document is None or problems:
        raise RuntimeError(f"the shipped pack {name} is invalid: {problems}")
    return document


async def provision(
    services: Mapping[str, Any], step: Callable[[str], None] = lambda _: None
) -> DemoResult:
    """Accounts, organisations, packs and memberships (through the public interfaces)."""
    identity: IdentityConfigApi = services["identity_config"]
    packs: PackEngine = services["packs"]
    result = DemoResult()
    people = {p.email: p.name for p in PEOPLE}

    async def account(email: str, name: str) -> None:
        # hashing runs in threads: the accounts are made side by side
        result.users[email] = await identity.provision_user(email, name, DEMO_PASSWORD)
        step(f"account {email}")

    await asyncio.gather(*(account(email, name) for email, name in people.items()))
    for org in ORGANISATIONS:
        result.organisations[org.name] = await identity.provision_organisation(
            org.name, result.users[org.owner]
        )
        step(f"organisation {org.name}")
    for org in ORGANISATIONS:
        if org.pack is not None:
            organisation_id = result.organisations[org.name]
            await packs.apply(organisation_id, _pack(org.pack), actor_id=result.users[org.owner])
            step(f"pack {org.pack} -> {org.name}")
    for person in PEOPLE:
        if person.roles != ("owner",):
            await identity.provision_member(
                result.organisations[person.organisation], result.users[person.email], person.roles
            )
            step(f"member {person.email}")
    return result


async def populate(client: Any, result: DemoResult) -> None:
    """The packs' sample documents, uploaded by their owners over HTTP (an
    ``httpx.AsyncClient``-like client of the running app), and a consultation in draft."""
    tokens: dict[str, str] = {}

    async def auth(email: str) -> dict[str, str]:
        if email not in tokens:
            r = await client.post(
                f"{API}/auth/login", json={"email": email, "password": DEMO_PASSWORD}
            )
            r.raise_for_status()
            tokens[email] = r.json()["accessToken"]
        return {"Authorization": f"Bearer {tokens[email]}"}

    for org in ORGANISATIONS:
        if org.pack is None:
            continue
        organisation_id = str(result.organisations[org.name])
        owner = await auth(org.owner)
        existing = await client.get(
            f"{API}/documents",
            params={"organisationId": organisation_id, "limit": 100},
            headers=owner,
        )
        existing.raise_for_status()
        titles = {d["title"]: d["id"] for d in existing.json()["items"]}
        types = await _ids(client, owner, organisation_id, "document-types")
        roles = await _ids(client, owner, organisation_id, "roles")
        members = [p for p in PEOPLE if p.organisation == org.name]
        for sample in _pack(org.pack).samples.documents:
            uploader = next(p.email for p in members if sample.owner in p.roles)
            if sample.title in titles:
                result.documents.append(titles[sample.title])
                continue
            data: dict[str, Any] = {"organisationId": organisation_id, "title": sample.title}
            if sample.document_type is not None:
                data["documentTypeId"] = types[sample.document_type]
            if sample.custom_fields:
                data["customFields"] = json.dumps(sample.custom_fields)
            if sample.tags:
                data["tags"] = list(sample.tags)
            headers = await auth(uploader)
            r = await client.post(
                f"{API}/documents",
                data=data,
                files={"file": ("document.txt", sample.text.encode(), "text/plain")},
                headers=headers,
            )
            r.raise_for_status()
            document_id = r.json()["id"]
            result.documents.append(document_id)
            if sample.restricted or sample.share_with_roles:
                shares = [{"roleId": roles[n], "access": "view"} for n in sample.share_with_roles]
                r = await client.put(
                    f"{API}/documents/{document_id}/permissions",
                    json={"restricted": sample.restricted, "shares": shares},
                    headers=headers,
                )
                r.raise_for_status()
            titles[sample.title] = document_id
        if org.pack == "procurement":
            result.consultation = await _consultation(
                client, await auth("acheteur.lyon@example.com"), organisation_id, titles
            )


async def _ids(client: Any, headers: dict[str, str], org: str, what: str) -> dict[str, str]:
    r = await client.get(f"{API}/orgs/{org}/{what}", params={"limit": 100}, headers=headers)
    r.raise_for_status()
    return {item["name"]: item["id"] for item in r.json()["items"]}


async def _consultation(
    client: Any, buyer: dict[str, str], organisation_id: str, titles: dict[str, str]
) -> str:
    """The consultation on the sample RC, in draft (the buyer publishes it); the one a
    previous run started when there is one."""
    rc = next(i for t, i in titles.items() if t.startswith("RC"))
    r = await client.get(
        f"{API}/workflow-instances",
        params={"organisationId": organisation_id, "workflowKey": "consultation"},
        headers=buyer,
    )
    r.raise_for_status()
    for item in r.json()["items"]:
        if item["subject"].get("documentId") == rc:
            return str(item["id"])
    r = await client.post(
        f"{API}/workflow-instances",
        json={
            "organisationId": organisation_id,
            "workflowKey": "consultation",
            "subject": {"documentId": rc},
            "variables": {"reference": "2026-AO-014"},
        },
        headers=buyer,
    )
    r.raise_for_status()
    return str(r.json()["id"])


def what_to_try(result: DemoResult, base_url: str) -> str:
    """The text ``hub demo`` prints at the end: who is who, and the stories to walk."""
    lines = [
        f"Demo ready. Password of every account: {DEMO_PASSWORD}",
        "",
        f"{'account':<34}{'organisation':<26}roles",
    ]
    for p in PEOPLE:
        lines.append(f"{p.email:<34}{p.organisation:<26}{', '.join(p.roles)}")
    lyon = result.organisations["Ville de Lyon"]
    pasteur = result.organisations["Cabinet Pasteur"]
    lines += [
        "",
        f"Start the hub with `make run` (or `hub run`), then open {base_url}/api/docs and",
        "sign in with POST /api/v1/auth/login; use the accessToken as Bearer token.",
        "",
        f"Procurement (Ville de Lyon, organisationId {lyon}):",
        f"  1. acheteur.lyon publishes the consultation {result.consultation}:",
        "     POST /api/v1/workflow-instances/{id}/transitions {transition: publish}",
        "  2. beta.fournisseur sees the alert in GET /api/v1/notifications and reads the",
        "     RC; its GET of Bâtiments Durables' sealed offer answers 404.",
        "  3. GET /api/v1/tasks as eval1.lyon once the bids are closed and evaluated.",
        "",
        f"Medical (Cabinet Pasteur, organisationId {pasteur}):",
        "  1. dr.durand reads the patient record (GET /api/v1/documents?organisationId=…);",
        "     louis (another patient) and accueil.pasteur (staff) get 404 for it.",
        "  2. upload a document titled 'Referral letter …' as accueil.pasteur: the care",
        "     pathway starts and GET /api/v1/tasks shows 'Book the consultation'.",
        "  3. dr.martin opens a conversation with camille: POST /api/v1/conversations.",
        "",
        "The walkthrough of both stories: README.md, 'Domain packs'.",
    ]
    return "\n".join(lines)
