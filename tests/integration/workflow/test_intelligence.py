"""Document intelligence, black-box over HTTP with a real worker: training through the
job with visible progress and the documents it used and left out (with reasons), held-out
quality on a labelled corpus, insights that only ever suggest the organisation's own
labels, feedback, similar documents, and the permission matrix (a restricted document is
never shown to someone who may not read it)."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.worker import InProcessWorker
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person
from tests.integration.workflow.support_intelligence import Seeded, seed
from tests.unit.workflow.corpus import Doc, corpus

Client = AsyncTestClient[Litestar]


async def classifier(client: Client, who: Person, org: str) -> dict[str, Any]:
    r = await client.get(f"{API}/orgs/{org}/classifier", headers=who.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def train(
    client: Client, who: Person, org: str, worker: InProcessWorker
) -> list[dict[str, Any]]:
    """Request a training, run it on the worker and return the states seen meanwhile."""
    r = await client.post(f"{API}/orgs/{org}/classifier/train", headers=who.auth)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "queued"
    again = await client.post(f"{API}/orgs/{org}/classifier/train", headers=who.auth)
    assert again.status_code == 409, again.text
    drained = asyncio.create_task(worker.drain(within=300))
    seen: list[dict[str, Any]] = []
    while not drained.done():
        seen.append(await classifier(client, who, org))
        await asyncio.sleep(0.05)
    await drained
    seen.append(await classifier(client, who, org))
    return seen


def _first(seeded: Seeded, tag: str, *, restricted: bool = False) -> uuid.UUID:
    return next(
        i
        for i, d in seeded.documents.items()
        if d is not None and d.tags == (tag,) and (i in seeded.restricted) == restricted
    )


async def test_classifier_insights_similar_and_permissions(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "member@example.com")
    outsider = await person(client, database_url, "outsider@example.com")
    await create_org(client, outsider, "Elsewhere")

    docs = corpus(1000, seed=11)
    rng = random.Random(3)
    restricted = [
        Doc(d.text, ("medical",), d.document_type)
        for d in corpus(60, seed=12)
        if d.tags == ("medical",)
    ][:5]
    seeded = await seed(
        database_url,
        org,
        owner.user_id,
        docs,
        unlabelled=[rng.choice(docs).text for _ in range(30)],
        without_text=5,
        restricted=restricted,
        extra_tags=("Unused",),
    )
    any_doc = next(iter(seeded.documents))

    # Before training: a state, insights without suggestions, similar says why it is empty.
    state = await classifier(client, member, org)
    assert state["state"] == "untrained"
    assert state["modelVersion"] is None
    r = await client.get(f"{API}/documents/{any_doc}/insights", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json()["suggestions"] == []
    assert r.json()["modelVersion"] is None
    r = await client.get(f"{API}/documents/{any_doc}/similar", headers=owner.auth)
    assert r.json()["basis"] == "none"
    assert r.json()["items"] == []

    # Who may train: a member reads the state but may not train; an outsider sees nothing.
    r = await client.post(f"{API}/orgs/{org}/classifier/train", headers=member.auth)
    assert r.status_code == 403
    r = await client.get(f"{API}/orgs/{org}/classifier", headers=outsider.auth)
    assert r.status_code == 404

    seen = await train(client, owner, org, events)
    assert any(s["state"] == "training" and 0 < s["progress"] < 1 for s in seen), seen
    done = seen[-1]
    assert done["state"] == "ready", done
    assert done["progress"] == 1
    assert done["modelVersion"] == 1
    assert done["trainedAt"]
    assert done["documentsUsed"] == 1005
    skipped = done["documentsSkipped"]
    assert skipped["no_labels"]["count"] == 30
    assert skipped["text_not_extracted"]["count"] == 5
    metrics = done["metrics"]
    assert metrics["heldOut"] == 201
    assert metrics["tagMacroF1"] >= 0.9, metrics
    assert metrics["typeMacroF1"] >= 0.9, metrics
    learnt = {m["label"] for m in metrics["labels"] if m["kind"] == "tag"}
    assert learnt == {"finance", "legal", "hr", "it", "travel", "medical"}
    assert {m["label"] for m in metrics["labels"] if m["kind"] == "documentType"} == {
        "Invoice",
        "Contract",
        "Letter",
        "Report",
    }
    assert all(0 <= m["f1"] <= 1 and m["support"] > 0 for m in metrics["labels"])

    # Insights: suggestions with confidence and evidence, only labels the organisation has.
    legal = _first(seeded, "legal")
    r = await client.get(f"{API}/documents/{legal}/insights", headers=member.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    tags = [s for s in body["suggestions"] if s["kind"] == "tag"]
    assert tags[0]["name"] == "legal"
    assert tags[0]["confidence"] > 0.5
    assert tags[0]["id"] == str(seeded.tag_ids["legal"])
    assert tags[0]["applied"] is True
    assert tags[0]["evidence"]
    assert all(isinstance(t, str) for t in tags[0]["evidence"])
    assert any(s["kind"] == "documentType" for s in body["suggestions"])
    assert body["keywords"]
    assert body["summary"]
    assert body["language"] == "en"
    assert body["modelVersion"] == 1
    assert body["textAvailable"] is True

    # A tag renamed since training is never suggested under its old name (or invented).
    medical = _first(seeded, "medical")
    await fetch(
        database_url,
        "UPDATE content.tags SET name = 'Health', name_key = 'health' WHERE id = $1",
        seeded.tag_ids["medical"],
    )
    org_tags = {
        r["name"]
        for r in await fetch(
            database_url, "SELECT name FROM content.tags WHERE organisation_id = $1", uuid.UUID(org)
        )
    }
    for doc_id in [medical, legal, *list(seeded.documents)[:40]]:
        r = await client.get(f"{API}/documents/{doc_id}/insights", headers=owner.auth)
        assert r.status_code == 200, r.text
        names = {s["name"] for s in r.json()["suggestions"] if s["kind"] == "tag"}
        assert names <= org_tags
        assert "medical" not in names
        assert "Health" not in names

    # Permission matrix: a restricted document is never shown to someone who may not read it.
    secret = next(iter(seeded.restricted))
    for who, status in ((owner, 200), (member, 404), (outsider, 404)):
        r = await client.get(f"{API}/documents/{secret}/insights", headers=who.auth)
        assert r.status_code == status, (who.email, r.text)
        r = await client.get(f"{API}/documents/{secret}/similar", headers=who.auth)
        assert r.status_code == status, (who.email, r.text)
    r = await client.get(f"{API}/documents/{legal}/insights", headers=outsider.auth)
    assert r.status_code == 404
    # Similar documents of a medical one: the owner gets restricted ones, the member never.
    as_owner = await client.get(
        f"{API}/documents/{medical}/similar", params={"limit": 100}, headers=owner.auth
    )
    as_member = await client.get(
        f"{API}/documents/{medical}/similar", params={"limit": 100}, headers=member.auth
    )
    assert as_owner.status_code == as_member.status_code == 200
    owner_ids = {uuid.UUID(i["id"]) for i in as_owner.json()["items"]}
    member_ids = {uuid.UUID(i["id"]) for i in as_member.json()["items"]}
    assert owner_ids & seeded.restricted, "the restricted medical documents are alike"
    assert not member_ids & seeded.restricted
    assert len(member_ids) == 100
    assert medical not in member_ids
    scores = [i["score"] for i in as_member.json()["items"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0.5
    similar_tags = [seeded.documents[i] for i in member_ids]
    assert sum(1 for d in similar_tags if d and "medical" in d.tags) >= 60

    # Feedback: answers are recorded, an accepted tag applied; an unknown label is a 422.
    plain = _first(seeded, "it")
    r = await client.post(
        f"{API}/documents/{plain}/insights/feedback",
        json={
            "items": [
                {"kind": "tag", "label": "Unused", "accepted": True},
                {"kind": "tag", "label": "it", "accepted": False},
            ]
        },
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"recorded": 2}
    doc = (await client.get(f"{API}/documents/{plain}", headers=owner.auth)).json()
    assert [t["name"] for t in doc["tags"]] == ["Unused"]
    r = await client.post(
        f"{API}/documents/{plain}/insights/feedback",
        json={"items": [{"kind": "tag", "label": "Invented", "accepted": True}]},
        headers=owner.auth,
    )
    assert r.status_code == 422
    assert "items[0].label" in r.text
    r = await client.post(
        f"{API}/documents/{secret}/insights/feedback",
        json={"items": [{"kind": "tag", "label": "Unused", "accepted": True}]},
        headers=member.auth,
    )
    assert r.status_code == 404
    rows = await fetch(database_url, "SELECT label, accepted FROM workflow.insight_feedback")
    assert sorted((r["label"], r["accepted"]) for r in rows) == [("Unused", True), ("it", False)]
