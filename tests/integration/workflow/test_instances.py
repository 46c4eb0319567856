"""Instances through HTTP: start, read, history, transitions with their guards, forms
and conditions, optimistic concurrency, version pinning, cancel and visibility."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.content.support import uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import create_org, person
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    approval,
    history,
    move,
    published,
    start,
    started,
    team,
)


async def test_start_move_and_read_history(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org)
    ann = people["ann"]
    instance = await started(client, ann, org, variables={"amount": 250})
    assert instance["workflowKey"] == "invoice"
    assert (instance["workflowVersion"], instance["version"]) == (1, 1)
    assert (instance["state"], instance["status"]) == ("review", "active")
    assert instance["subject"] == {"documentId": None, "reference": "INV-1"}
    assert instance["transitions"] == ["approve", "reject"]

    r = await move(client, ann, instance, "approve", {"note": "fine"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["status"], done["version"]) == ("approved", "completed", 2)
    assert done["variables"] == {"amount": 250, "outcome": "ok"}
    assert done["endedAt"] is not None
    assert done["transitions"] == []

    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=ann.auth)
    assert r.status_code == 200
    assert r.json()["state"] == "approved"
    steps = await history(client, ann, instance["id"])
    assert [(s["kind"], s["fromState"], s["toState"], s["transition"]) for s in steps] == [
        ("started", None, "review", None),
        ("transition", "review", "approved", "approve"),
    ]
    assert steps[1]["actorId"] == ann.user_id
    assert steps[1]["actorType"] == "user"
    assert steps[1]["data"] == {"note": "fine"}
    assert steps[1]["correlationId"]
    r = await client.get(
        INSTANCES, params={"organisationId": org, "status": "completed"}, headers=ann.auth
    )
    assert [i["id"] for i in r.json()["items"]] == [instance["id"]]
    events = await fetch(
        database_url,
        "SELECT event_type, payload FROM workflow.outbox ORDER BY position",
    )
    types = [e["event_type"] for e in events]
    assert types == [
        "workflow.definition.published",
        "workflow.instance.started",
        "workflow.instance.transitioned",
        "workflow.instance.completed",
    ]
    r = await move(client, ann, done, "reject", {"reason": "late"})
    assert r.status_code == 409
    assert r.json()["code"] == "instance_ended"


async def test_guards_forms_and_conditions(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org)
    instance = await started(client, owner, org, variables={"amount": 5000})

    r = await move(client, people["cy"], instance, "approve")
    assert r.status_code == 403  # cy reads instances (member: *.read) but is no approver
    assert r.json()["code"] == "transition_forbidden"
    r = await move(client, people["ann"], instance, "approve")
    assert r.status_code == 422
    assert r.json()["code"] == "condition_not_met"
    r = await move(client, people["ann"], instance, "reject", {"reason": "  "})
    assert r.status_code == 422
    assert r.json()["code"] == "form_incomplete"
    assert [e["field"] for e in r.json()["errors"]] == ["data.reason"]
    r = await move(client, people["ann"], instance, "fly")
    assert r.status_code == 422
    assert r.json()["code"] == "transition_unavailable"
    r = await move(client, people["ann"], instance, "approve", version=7)
    assert r.status_code == 409
    assert r.json()["code"] == "stale_instance"
    # nothing of the refused steps was applied
    assert len(await history(client, owner, instance["id"])) == 1
    r = await move(client, people["ann"], instance, "reject", {"reason": "too expensive"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected"


async def test_concurrent_transitions_one_wins(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner, org, people = await team(client, database_url)
    body = approval()
    body["transitions"][0].pop("condition")
    await published(client, owner, org, definition=body)
    for _ in range(3):
        instance = await started(client, owner, org)
        answers = await asyncio.gather(
            move(client, people["ann"], instance, "approve"),
            move(client, people["bob"], instance, "reject", {"reason": "no"}),
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 409], [r.text for r in answers]
        (winner,) = [r.json() for r in answers if r.status_code == 200]
        steps = await history(client, owner, instance["id"])
        assert len(steps) == 2
        assert steps[1]["toState"] == winner["state"]
        moved = await fetch(
            database_url,
            "SELECT count(*) AS n FROM workflow.outbox "
            "WHERE event_type = 'workflow.instance.transitioned' AND payload->>'instanceId' = $1",
            instance["id"],
        )
        assert moved[0]["n"] == 1


async def test_version_pinning(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org)
    old = await started(client, owner, org)
    v2 = approval()
    v2["states"].insert(1, {"name": "second-look"})
    v2["transitions"][0]["to"] = "second-look"
    v2["transitions"].append({"name": "confirm", "from": "second-look", "to": "approved"})
    assert (await published(client, owner, org, definition=v2))["version"] == 2
    new = await started(client, owner, org)
    assert (old["workflowVersion"], new["workflowVersion"]) == (1, 2)

    r = await move(client, people["ann"], old, "approve")
    assert r.json()["state"] == "approved"  # v1 goes straight to approved
    r = await move(client, people["ann"], new, "approve")
    assert r.json()["state"] == "second-look"
    r = await move(client, owner, r.json(), "confirm")
    assert r.json()["state"] == "approved"


async def test_cancel(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org)
    instance = await started(client, owner, org)
    url = f"{INSTANCES}/{instance['id']}/cancel"
    r = await client.post(url, json={"expectedVersion": 1}, headers=people["ann"].auth)
    assert r.status_code == 403
    r = await client.post(url, json={"expectedVersion": 1, "reason": "dup"}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["version"]) == ("cancelled", 2)
    r = await client.post(url, json={"expectedVersion": 2}, headers=owner.auth)
    assert r.status_code == 409
    steps = await history(client, owner, instance["id"])
    assert steps[-1]["kind"] == "cancelled"
    assert steps[-1]["data"] == {"reason": "dup"}


async def test_visibility_follows_membership_and_the_document(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org)
    doc = await uploaded(
        client, owner, org, b"invoice 42", file_name="invoice-42.txt", title="Invoice 42"
    )
    instance = await started(client, owner, org, subject={"documentId": doc["id"]})
    assert instance["subject"]["documentId"] == doc["id"]
    cy = people["cy"]
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=cy.auth)
    assert r.status_code == 200
    r = await client.put(
        f"{API}/documents/{doc['id']}/permissions",
        json={"restricted": True, "shares": [{"userId": people["ann"].user_id, "access": "view"}]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=cy.auth)
    assert r.status_code == 404  # cy may no longer read the document
    assert (await move(client, cy, instance, "reject", {"reason": "x"})).status_code == 404
    r = await client.get(INSTANCES, params={"organisationId": org}, headers=cy.auth)
    assert r.json()["items"] == []
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=people["ann"].auth)
    assert r.status_code == 200  # shared with ann

    outsider = await person(client, database_url, "out@example.com")
    other = (await create_org(client, outsider, "Other"))["id"]
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=outsider.auth)
    assert r.status_code == 404
    r = await start(client, outsider, other, subject={"documentId": doc["id"]})
    assert r.status_code == 422  # no workflow "invoice" there
    r = await start(client, owner, org, subject={"documentId": doc["id"], "reference": "x"})
    assert r.status_code == 422
    r = await start(client, cy, org)
    assert r.status_code == 403  # members do not start instances by default


async def test_effects_tag_the_document_and_notify(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    body = approval()
    body["transitions"][0]["actions"] = [
        {"kind": "setTags", "tags": ["approved"]},
        {
            "kind": "notify",
            "templateKey": "general.announcement",
            "to": {"starter": True},
            "payload": {"title": "Approved", "text": "Your invoice was approved."},
        },
    ]
    await published(client, owner, org, definition=body)
    doc = await uploaded(
        client, owner, org, b"invoice 7", file_name="invoice-7.txt", title="Invoice 7", tags=["x"]
    )
    instance = await started(client, owner, org, subject={"documentId": doc["id"]})
    r = await move(client, people["ann"], instance, "approve")
    assert r.status_code == 200, r.text
    await events.drain()
    r = await client.get(f"{API}/documents/{doc['id']}", headers=owner.auth)
    assert sorted(t["name"] for t in r.json()["tags"]) == ["approved", "x"]
    r = await client.get(f"{API}/notifications", headers=owner.auth)
    assert [i["title"] for i in r.json()["items"]] == ["Approved"]
    rows = await fetch(database_url, "SELECT kind, status FROM workflow.effects ORDER BY kind")
    assert [(row["kind"], row["status"]) for row in rows] == [
        ("notify", "done"),
        ("setTags", "done"),
    ]
