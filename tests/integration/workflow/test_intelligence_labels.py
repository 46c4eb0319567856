"""Whose labels train the classifier, and the hourly retraining: labels a workflow set
through ContentApi are left out (``labels_not_confirmed``) until a person answers them; a
person's label change or feedback after the last training makes the hourly job queue a new
one, and nothing else does."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content.api import ContentApi
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from hub.workflow.intelligence.services.classifier import ClassifierService
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import create_org, person
from tests.integration.workflow.support_intelligence import seed
from tests.unit.workflow.corpus import corpus

Client = AsyncTestClient[Litestar]


async def test_machine_labels_wait_for_a_person_and_changes_retrain(
    client: Client, database_url: str, settings: Settings, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    seeded = await seed(database_url, org, owner.user_id, corpus(150, seed=21))
    by_workflow, by_person = list(seeded.documents)[:2]

    async def state() -> dict[str, Any]:
        r = await client.get(f"{API}/orgs/{org}/classifier", headers=owner.auth)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async with periodic_kernel(settings, MovableClock()) as kernel:
        content: ContentApi = kernel.services["content_api"]
        classifier: ClassifierService = kernel.services["classifier"]

        await content.set_metadata(by_workflow, actor="workflow", tags=["finance"])
        r = await client.patch(
            f"{API}/documents/{by_person}", json={"tags": ["legal"]}, headers=owner.auth
        )
        assert r.status_code == 200, r.text
        await events.drain()
        marks = await fetch(database_url, "SELECT document_id, via FROM workflow.machine_labels")
        assert [(m["document_id"], m["via"]) for m in marks] == [(by_workflow, "workflow")]
        # Never trained: a label change alone starts nothing (training is opted into).
        assert await classifier.retrain_changed() == []

        r = await client.post(f"{API}/orgs/{org}/classifier/train", headers=owner.auth)
        assert r.status_code == 202, r.text
        await events.drain(within=120)
        first = await state()
        assert first["state"] == "ready"
        assert first["modelVersion"] == 1
        assert first["documentsSkipped"]["labels_not_confirmed"] == {
            "count": 1,
            "sample": [str(by_workflow)],
        }
        assert first["documentsUsed"] == 149
        # Nothing changed since that request.
        assert await classifier.retrain_changed() == []

        # A person confirms the workflow's label: the mark goes, the hourly job retrains.
        r = await client.post(
            f"{API}/documents/{by_workflow}/insights/feedback",
            json={"items": [{"kind": "tag", "label": "finance", "accepted": True}]},
            headers=owner.auth,
        )
        assert r.status_code == 200, r.text
        assert await classifier.retrain_changed() == [uuid.UUID(org)]
        # The test's worker consumes in the background, so it may have started already.
        assert (await state())["state"] in ("queued", "training")
        assert await classifier.retrain_changed() == []  # already queued
        await events.drain(within=120)
        second = await state()
        assert second["state"] == "ready"
        assert second["modelVersion"] == 2
        assert "labels_not_confirmed" not in second["documentsSkipped"]
        assert second["documentsUsed"] == 150
        assert await fetch(database_url, "SELECT 1 FROM workflow.machine_labels") == []

        # A document whose text is extracted after training gets its vector at once.
        medical = " ".join(d.text for d in corpus(40, seed=22) if d.tags == ("medical",))
        r = await client.post(
            f"{API}/documents",
            data={"organisationId": org},
            files={"file": ("visit.txt", medical.encode(), "text/plain")},
            headers=owner.auth,
        )
        assert r.status_code == 201, r.text
        new = uuid.UUID(r.json()["id"])
        await events.drain(within=60)
        rows = await fetch(
            database_url,
            "SELECT model_version FROM workflow.document_vectors WHERE document_id = $1",
            new,
        )
        assert [row["model_version"] for row in rows] == [2]
        r = await client.get(f"{API}/documents/{new}/similar", headers=owner.auth)
        assert r.status_code == 200, r.text
        top = [seeded.documents[uuid.UUID(i["id"])] for i in r.json()["items"][:5]]
        assert all(d is not None and "medical" in d.tags for d in top)


async def test_concurrent_training_requests_queue_one(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    answers = await asyncio.gather(
        *(client.post(f"{API}/orgs/{org}/classifier/train", headers=owner.auth) for _ in range(4))
    )
    assert sorted(r.status_code for r in answers) == [202, 409, 409, 409]
    jobs = await fetch(
        database_url,
        "SELECT 1 FROM workflow.outbox WHERE event_type = 'kernel.job_requested'"
        " AND payload->>'job' = 'workflow.train_classifier'",
    )
    assert len(jobs) == 1
