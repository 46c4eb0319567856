"""Select-type custom fields in the classifier: learnt from the values people set,
measured on the held-out fifth, suggested in insights (an option removed since training
never is), and usable as ``classifier_says('key=option')``."""

from __future__ import annotations

import json
import uuid

import asyncpg

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API, fetch, plain_dsn
from tests.integration.identity.support_orgs import create_org, person
from tests.integration.workflow.support_intelligence import seed
from tests.integration.workflow.test_intelligence import Client, train
from tests.unit.workflow.corpus import corpus

AREAS = ["finance", "legal", "hr", "it", "travel", "medical"]


async def test_select_fields_are_learnt_and_suggested(
    client: Client, database_url: str, events: InProcessWorker, settings: Settings
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    docs = corpus(400, seed=41)
    seeded = await seed(database_url, org, owner.user_id, docs)
    field_id = uuid.uuid4()
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        await conn.execute(
            "INSERT INTO content.custom_fields (id, organisation_id, key, name, type, options)"
            " VALUES ($1, $2, 'area', 'Area', 'select', $3::jsonb)",
            field_id,
            uuid.UUID(org),
            json.dumps(AREAS),
        )
        # A person's value: the document's main topic (its first tag).
        await conn.executemany(
            "UPDATE content.documents SET custom_fields = $2::jsonb WHERE id = $1",
            [
                (doc_id, json.dumps({"area": doc.tags[0]}))
                for doc_id, doc in seeded.documents.items()
                if doc is not None
            ],
        )
    finally:
        await conn.close()

    state = (await train(client, owner, org, events))[-1]
    assert state["state"] == "ready", state
    fields = [m for m in state["metrics"]["labels"] if m["kind"] == "customField"]
    assert {m["label"] for m in fields} == set(AREAS)
    assert {m["field"] for m in fields} == {"area"}
    assert sum(m["f1"] for m in fields) / len(fields) >= 0.8, fields

    travel = next(i for i, d in seeded.documents.items() if d is not None and d.tags == ("travel",))
    r = await client.get(f"{API}/documents/{travel}/insights", headers=owner.auth)
    assert r.status_code == 200, r.text
    suggested = [s for s in r.json()["suggestions"] if s["kind"] == "customField"]
    assert suggested[0]["name"] == "travel"
    assert suggested[0]["id"] == str(field_id)
    assert (suggested[0]["field"], suggested[0]["fieldName"]) == ("area", "Area")
    assert suggested[0]["applied"] is True
    assert suggested[0]["confidence"] > 0.5
    assert suggested[0]["evidence"]

    # An option removed from the field since training is never suggested.
    await fetch(
        database_url,
        "UPDATE content.custom_fields SET options = $2::jsonb WHERE id = $1",
        field_id,
        json.dumps([a for a in AREAS if a != "travel"]),
    )
    r = await client.get(f"{API}/documents/{travel}/insights", headers=owner.auth)
    names = {s["name"] for s in r.json()["suggestions"] if s["kind"] == "customField"}
    assert "travel" not in names

    # The workflow engine reads it as "key=option".
    medical = next(
        i for i, d in seeded.documents.items() if d is not None and d.tags == ("medical",)
    )
    async with periodic_kernel(settings, MovableClock()) as kernel:
        said = await kernel.services["classifier_says"].confidences(medical)
    assert said["area=medical"] > 0.5
    assert "medical" in said  # the tag, by its own name
