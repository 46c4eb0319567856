"""Auto-apply of document types: a confident type is set on a document that has none
(never over a person's choice), audited as ``ai`` with model version and confidence;
undo unsets it (as the person) and it is not applied again."""

from __future__ import annotations

import uuid

from hub.worker import InProcessWorker
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import create_org, person
from tests.integration.workflow.support_intelligence import seed
from tests.integration.workflow.test_intelligence import Client, train
from tests.unit.workflow.corpus import corpus


async def test_a_confident_type_is_applied_audited_and_undone(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    seeded = await seed(database_url, org, owner.user_id, corpus(400, seed=31))
    assert (await train(client, owner, org, events))[-1]["state"] == "ready"
    r = await client.put(
        f"{API}/orgs/{org}/classifier/auto-apply",
        json={"enabled": True, "threshold": 0.9},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    letter = corpus(12, seed=99)[4]  # a travel letter the model is sure of (0.97)
    assert letter.document_type == "Letter"
    letter_type = seeded.type_ids["Letter"]
    contract_type = seeded.type_ids["Contract"]

    async def upload(**form: str) -> uuid.UUID:
        r = await client.post(
            f"{API}/documents",
            data={"organisationId": org, **form},
            files={"file": ("letter.txt", letter.text.encode(), "text/plain")},
            headers=owner.auth,
        )
        assert r.status_code == 201, r.text
        return uuid.UUID(r.json()["id"])

    untyped = await upload()
    typed_by_person = await upload(documentTypeId=str(contract_type))
    await events.drain(within=60)

    async def type_of(document_id: uuid.UUID) -> str | None:
        r = await client.get(f"{API}/documents/{document_id}", headers=owner.auth)
        assert r.status_code == 200, r.text
        value: str | None = r.json()["documentTypeId"]
        return value

    assert await type_of(untyped) == str(letter_type)
    assert await type_of(typed_by_person) == str(contract_type)  # a person's choice stays
    r = await client.get(f"{API}/documents/{untyped}/insights/auto-applied", headers=owner.auth)
    applied = [a for a in r.json() if a["kind"] == "documentType"]
    (application,) = applied
    assert application["label"] == str(letter_type)
    assert application["confidence"] >= 0.9
    assert application["modelVersion"] == 1
    r = await client.get(
        f"{API}/documents/{typed_by_person}/insights/auto-applied", headers=owner.auth
    )
    assert [a for a in r.json() if a["kind"] == "documentType"] == []
    audit = await fetch(
        database_url,
        "SELECT actor_type, actor_id FROM content.audit_entries"
        " WHERE action = 'content.document.updated' AND entity_id = $1 ORDER BY seq",
        str(untyped),
    )
    assert [(a["actor_type"], a["actor_id"]) for a in audit] == [("ai", None)]

    # Undo: the type is unset, as the person; a re-extraction does not set it again.
    r = await client.post(
        f"{API}/documents/{untyped}/insights/auto-applied/{application['id']}/undo",
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["undoneBy"] == owner.user_id
    assert await type_of(untyped) is None
    await events.drain(within=60)  # the audit trail follows the event
    audit = await fetch(
        database_url,
        "SELECT actor_type, actor_id FROM content.audit_entries"
        " WHERE action = 'content.document.updated' AND entity_id = $1 ORDER BY seq",
        str(untyped),
    )
    assert (audit[-1]["actor_type"], str(audit[-1]["actor_id"])) == ("user", owner.user_id)
    r = await client.post(
        f"{API}/documents/{untyped}/versions",
        files={"file": ("letter2.txt", (letter.text + " again").encode(), "text/plain")},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    await events.drain(within=60)
    assert await type_of(untyped) is None
