"""A retraining builds the new model version beside the one in use and switches to it
only once its model and every vector are stored: a similar-documents request and a hybrid
search meanwhile answer from the previous complete version; after the switch the old
version's vectors are gone."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.worker import InProcessWorker
from tests.integration.identity.support import API, fetch, plain_dsn
from tests.integration.identity.support_orgs import create_org, person
from tests.integration.workflow.support_intelligence import seed
from tests.integration.workflow.test_intelligence import classifier, train
from tests.integration.workflow.test_intelligence_hybrid import (
    NO_FLIGHT,
    ids,
    index_for_search,
)
from tests.unit.workflow.corpus import Doc, corpus

Client = AsyncTestClient[Litestar]


async def _versions(database_url: str) -> dict[int, int]:
    rows = await fetch(
        database_url,
        "SELECT model_version, count(*) AS n FROM workflow.document_vectors GROUP BY model_version",
    )
    return {r["model_version"]: r["n"] for r in rows}


async def test_a_search_during_a_retraining_uses_the_previous_complete_version(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    target = Doc(NO_FLIGHT, ("travel",), "Letter")
    seeded = await seed(database_url, org, owner.user_id, [*corpus(300, seed=8), target])
    target_id = next(i for i, d in seeded.documents.items() if d is target)
    probe = next(i for i, d in seeded.documents.items() if d is not target)
    await index_for_search(client, owner, org)
    first = await train(client, owner, org, events)
    assert (first[-1]["state"], first[-1]["modelVersion"]) == ("ready", 1)
    assert await _versions(database_url) == {1: len(seeded.documents)}
    similar_before = await client.get(
        f"{API}/documents/{probe}/similar", params={"limit": 10}, headers=owner.auth
    )
    assert similar_before.status_code == 200, similar_before.text
    assert len(similar_before.json()["items"]) == 10

    # Hold the retraining half-way: an uncommitted row of version 2 for one document makes
    # the job's first batch of version-2 vectors wait (same key) after the version-2 model
    # is stored, until this transaction ends.
    blocker = await asyncpg.connect(plain_dsn(database_url))
    held = blocker.transaction()
    await held.start()
    await blocker.execute(
        "INSERT INTO workflow.document_vectors"
        " (document_id, organisation_id, model_version, vector) VALUES ($1, $2, 2, $3)",
        probe,
        uuid.UUID(org),
        [0.0] * 12,
    )
    r = await client.post(f"{API}/orgs/{org}/classifier/train", headers=owner.auth)
    assert r.status_code == 202, r.text
    drained = asyncio.create_task(events.drain(within=300))
    try:
        for _ in range(6000):  # bounded: the job reaches the vectors within seconds
            state = await classifier(client, owner, org)
            if state["stage"] == "computing document vectors" or drained.done():
                break
            await asyncio.sleep(0.05)
        assert state["stage"] == "computing document vectors", state
        models = await fetch(
            database_url, "SELECT version FROM workflow.classifier_models ORDER BY version"
        )
        assert [m["version"] for m in models] == [1, 2], "the new model is stored, not in use"

        # Meanwhile every answer comes from version 1, complete.
        assert (state["state"], state["modelVersion"]) == ("training", 1)
        r = await client.get(
            f"{API}/documents/{probe}/similar", params={"limit": 10}, headers=owner.auth
        )
        assert r.status_code == 200, r.text
        assert r.json()["modelVersion"] == 1
        assert r.json()["items"] == similar_before.json()["items"]
        r = await client.get(
            f"{API}/search",
            params={"organisationId": org, "q": "flight", "mode": "hybrid", "limit": 100},
            headers=owner.auth,
        )
        assert r.status_code == 200, r.text
        assert r.json()["semantic"] == {"basis": "vectors", "reason": None}
        assert target_id in await ids(client, owner, org, "flight", "hybrid")
        r = await client.get(f"{API}/documents/{target_id}/insights", headers=owner.auth)
        assert r.status_code == 200, r.text
        assert r.json()["modelVersion"] == 1
    finally:
        await held.rollback()
        await blocker.close()
    await drained

    # Switched: version 2 complete and in use, version 1's vectors deleted.
    state = await classifier(client, owner, org)
    assert (state["state"], state["modelVersion"]) == ("ready", 2), state
    assert await _versions(database_url) == {2: len(seeded.documents)}
    r = await client.get(
        f"{API}/documents/{probe}/similar", params={"limit": 10}, headers=owner.auth
    )
    assert r.json()["modelVersion"] == 2
    assert len(r.json()["items"]) == 10
    assert target_id in await ids(client, owner, org, "flight", "hybrid")
    models = await fetch(
        database_url, "SELECT version FROM workflow.classifier_models ORDER BY version"
    )
    assert [m["version"] for m in models] == [1, 2]  # the previous model is kept
