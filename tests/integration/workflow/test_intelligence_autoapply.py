"""Auto-apply: off until an organisation opts in; then only tags at or above the threshold
are applied when a document's text is extracted, audited as the actor type ``ai`` with the
model version and confidence recorded; a person undoes one and it is not applied again."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from hub.workflow.intelligence.services.conditions import ClassifierSays
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person
from tests.integration.workflow.support_intelligence import seed
from tests.unit.workflow.corpus import COMMON, corpus

Client = AsyncTestClient[Litestar]


async def upload(client: Client, who: Person, org: str, text: str) -> uuid.UUID:
    r = await client.post(
        f"{API}/documents",
        data={"organisationId": org},
        files={"file": ("note.txt", text.encode(), "text/plain")},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def tags_of(client: Client, who: Person, document_id: uuid.UUID) -> list[str]:
    r = await client.get(f"{API}/documents/{document_id}", headers=who.auth)
    assert r.status_code == 200, r.text
    return sorted(t["name"] for t in r.json()["tags"])


async def test_auto_apply_threshold_audit_and_undo(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "member@example.com")
    await seed(database_url, org, owner.user_id, corpus(200, seed=31))
    r = await client.post(f"{API}/orgs/{org}/classifier/train", headers=owner.auth)
    assert r.status_code == 202, r.text
    await events.drain(within=120)

    legal = " ".join(d.text for d in corpus(30, seed=32) if d.tags == ("legal",))
    # Not opted in: nothing is applied.
    before = await upload(client, owner, org, legal)
    await events.drain(within=60)
    assert await tags_of(client, owner, before) == []

    r = await client.put(
        f"{API}/orgs/{org}/classifier/auto-apply",
        json={"enabled": True, "threshold": 0.9},
        headers=member.auth,
    )
    assert r.status_code == 403
    r = await client.put(
        f"{API}/orgs/{org}/classifier/auto-apply",
        json={"enabled": True, "threshold": 1.5},
        headers=owner.auth,
    )
    assert r.status_code == 400, r.text
    r = await client.put(
        f"{API}/orgs/{org}/classifier/auto-apply",
        json={"enabled": True, "threshold": 0.9},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["autoApply"] is True
    assert body["autoApplyThreshold"] == 0.9

    applied = await upload(client, owner, org, legal)
    vague = await upload(client, owner, org, " ".join(COMMON * 3))
    await events.drain(within=60)
    assert await tags_of(client, owner, applied) == ["legal"]
    assert await tags_of(client, owner, vague) == []  # nothing reached the threshold

    r = await client.get(f"{API}/documents/{applied}/insights/auto-applied", headers=owner.auth)
    assert r.status_code == 200, r.text
    (application,) = r.json()
    assert application["label"] == "legal"
    assert application["modelVersion"] == 1
    assert application["confidence"] >= 0.9
    assert application["undoneAt"] is None
    audit = await fetch(
        database_url,
        "SELECT actor_type, actor_id FROM content.audit_entries"
        " WHERE action = 'content.document.updated' AND entity_id = $1",
        str(applied),
    )
    assert [(a["actor_type"], a["actor_id"]) for a in audit] == [("ai", None)]

    # Undo: the member may read but not edit the document; the owner may.
    undo = f"{API}/documents/{applied}/insights/auto-applied/{application['id']}/undo"
    r = await client.post(undo, headers=member.auth)
    assert r.status_code == 403, r.text
    r = await client.post(undo, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json()["undoneAt"]
    assert r.json()["undoneBy"] == owner.user_id
    assert await tags_of(client, owner, applied) == []
    # A new version with the same text is extracted again: the undone tag stays off.
    r = await client.post(
        f"{API}/documents/{applied}/versions",
        files={"file": ("note2.txt", (legal + " again").encode(), "text/plain")},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    await events.drain(within=60)
    assert await tags_of(client, owner, applied) == []


async def test_the_workflow_engine_asks_the_classifier(
    client: Client, database_url: str, settings: Settings, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    seeded = await seed(database_url, org, owner.user_id, corpus(200, seed=31))
    legal = next(i for i, d in seeded.documents.items() if d is not None and d.tags == ("legal",))
    async with periodic_kernel(settings, MovableClock()) as kernel:
        says: ClassifierSays = kernel.services["classifier_says"]
        assert await says.confidence(legal, "tag", "legal") is None  # no model yet
        r = await client.post(f"{API}/orgs/{org}/classifier/train", headers=owner.auth)
        assert r.status_code == 202, r.text
        await events.drain(within=120)
        assert (await says.confidence(legal, "tag", "LEGAL") or 0) >= 0.8
        assert (await says.confidence(legal, "tag", "medical") or 0) < 0.5
        assert await says.confidence(legal, "tag", "Invented") is None
        doc = seeded.documents[legal]
        assert doc is not None
        by_id = await says.confidence(
            legal, "documentType", str(seeded.type_ids[doc.document_type])
        )
        assert by_id is not None
        assert by_id >= 0.5
        assert await says.confidence(uuid.uuid4(), "tag", "legal") is None
