"""Incidents (as in Camunda): an effect the other context refuses is ``failed`` for good,
listed with the refusal, and run again by someone holding ``workflow.incidents.manage``
once the cause is fixed — exactly once, even when two ask at the same moment."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, person
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    approval_notifying,
    move,
    outbox,
    published,
    role,
    started,
    team,
    titles,
)

INCIDENTS = f"{API}/workflow-incidents"
#: A template the organisation has not defined yet: the send is refused until it does.
MISSING = "team.approved"


def notifying() -> dict[str, Any]:
    """Its notice names a template the organisation has not defined yet."""
    return approval_notifying(templateKey=MISSING, payload={"title": "Approved"})


async def define_template(client: Any, owner: Person, org: str) -> None:
    r = await client.post(
        f"{API}/notification-templates",
        params={"organisationId": org},
        json={
            "key": MISSING,
            "category": "workflow.tasks",
            "variables": ["title"],
            "sample": {"title": "Approved"},
            "channels": {"in_app": {"en": {"title": "{{ title }}", "body": "Done."}}},
        },
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text


async def failed_instance(
    client: Any, database_url: str
) -> tuple[Person, str, dict[str, Any], Any]:
    """An approved instance whose notice failed: the organisation has no such template."""
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=notifying())
    instance = await started(client, people["ann"], org)
    r = await move(client, people["ann"], instance, "approve")
    assert r.status_code == 200, r.text
    return owner, org, people, instance


async def effects(client: Any, who: Person, instance_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"{INSTANCES}/{instance_id}/effects", headers=who.auth)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_refused_effect_is_an_incident_and_runs_again_once_fixed(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people, instance = await failed_instance(client, database_url)
    ann = people["ann"]
    await events.drain()

    [effect] = await effects(client, ann, instance["id"])
    assert (effect["kind"], effect["status"], effect["retries"]) == ("notify", "failed", 0)
    # whoever handles incidents is told in their inbox; the approver is not
    assert await titles(client, owner) == ["Incident in invoice: a notify action failed"]
    assert await titles(client, ann) == []
    assert effect["error"].startswith("unknown_template")
    assert effect["spec"]["templateKey"] == MISSING
    [failed] = await outbox(database_url, "workflow.effect.failed")
    assert (failed["effectId"], failed["instanceId"], failed["kind"]) == (
        effect["id"],
        instance["id"],
        "notify",
    )
    assert failed["error"] == effect["error"]

    r = await client.get(INCIDENTS, params={"organisationId": org}, headers=owner.auth)
    assert r.status_code == 200, r.text
    [incident] = r.json()["items"]
    assert (incident["id"], incident["instanceId"], incident["workflowKey"]) == (
        effect["id"],
        instance["id"],
        "invoice",
    )
    assert (incident["state"], incident["error"]) == ("approved", effect["error"])

    # the cause is fixed, then the owner runs it again: pending at once, done after its job
    await define_template(client, owner, org)
    retry = f"{INSTANCES}/{instance['id']}/effects/{effect['id']}/retry"
    r = await client.post(retry, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["error"], r.json()["retries"]) == ("pending", None, 1)
    again = await client.post(retry, headers=owner.auth)
    assert (again.status_code, again.json()["code"]) == (409, "effect_not_failed")
    assert again.json()["extra"]["effectStatus"] == "pending"
    await events.drain()
    [effect] = await effects(client, ann, instance["id"])
    assert (effect["status"], effect["error"], effect["retries"]) == ("done", None, 1)
    assert await titles(client, ann) == ["Approved"]
    assert len(await titles(client, owner)) == 1  # a retry that works alerts nobody
    r = await client.get(INCIDENTS, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []
    [retried] = await outbox(database_url, "workflow.effect.retried")
    assert (retried["effectId"], retried["retries"], retried["actorId"]) == (
        effect["id"],
        1,
        owner.user_id,
    )
    assert retried["previousError"] == failed["error"]
    # a done effect does not run again
    r = await client.post(retry, headers=owner.auth)
    assert (r.status_code, r.json()["extra"]["effectStatus"]) == (409, "done")


async def test_who_may_see_and_retry_incidents(client: Client, database_url: str) -> None:
    owner, org, people, instance = await failed_instance(client, database_url)
    # no worker here: the effect is marked failed as its job would have marked it
    rows = await fetch(database_url, "SELECT id FROM workflow.effects")
    effect_id = str(rows[0]["id"])
    await fetch(
        database_url,
        "UPDATE workflow.effects SET status = 'failed', error = 'unknown_template: x'",
    )
    retry = f"{INSTANCES}/{instance['id']}/effects/{effect_id}/retry"
    # members read the instance's effects, but incidents are for their managers
    assert [e["status"] for e in await effects(client, people["cy"], instance["id"])] == ["failed"]
    for who in (people["ann"], people["cy"]):
        r = await client.get(INCIDENTS, params={"organisationId": org}, headers=who.auth)
        assert r.status_code == 403, r.text
        r = await client.post(retry, headers=who.auth)
        assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    stranger = await person(client, database_url, "stranger@example.com")
    r = await client.get(INCIDENTS, params={"organisationId": org}, headers=stranger.auth)
    assert r.status_code == 404
    r = await client.post(retry, headers=stranger.auth)
    assert r.status_code == 404
    r = await client.get(f"{INSTANCES}/{instance['id']}/effects", headers=stranger.auth)
    assert r.status_code == 404
    # an effect of another instance, or none at all: 404
    other = await started(client, people["ann"], org)
    r = await client.post(
        f"{INSTANCES}/{other['id']}/effects/{effect_id}/retry", headers=owner.auth
    )
    assert r.status_code == 404
    r = await client.post(
        f"{INSTANCES}/{instance['id']}/effects/0190f1f2-0000-7000-8000-000000000001/retry",
        headers=owner.auth,
    )
    assert r.status_code == 404
    # a role holding the permission may, and nothing was changed by the refusals
    await role(client, owner, org, "Operator", ["workflow.incidents.manage"])
    r = await client.patch(
        f"{API}/orgs/{org}/members/{people['cy'].user_id}",
        json={"roles": ["Operator"]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    [effect] = await fetch(database_url, "SELECT status, retries FROM workflow.effects")
    assert (effect["status"], effect["retries"]) == ("failed", 0)
    r = await client.post(retry, headers=people["cy"].auth)
    assert r.status_code == 200, r.text


async def test_an_incident_nobody_will_fix_is_dismissed_and_never_runs(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people, instance = await failed_instance(client, database_url)
    await events.drain()
    [effect] = await effects(client, owner, instance["id"])
    url = f"{INSTANCES}/{instance['id']}/effects/{effect['id']}"
    r = await client.post(f"{url}/dismiss", json={"reason": "x"}, headers=people["ann"].auth)
    assert r.status_code == 403
    r = await client.post(f"{url}/dismiss", json={"reason": "y" * 2001}, headers=owner.auth)
    assert r.status_code == 400
    r = await client.post(
        f"{url}/dismiss", json={"reason": "Sent by hand instead"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["error"]) == ("dismissed", effect["error"])
    r = await client.get(INCIDENTS, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []
    for action in ("retry", "dismiss"):
        r = await client.post(f"{url}/{action}", json={}, headers=owner.auth)
        assert (r.status_code, r.json()["extra"]["effectStatus"]) == (409, "dismissed")
    # its template appears later: a dismissed effect still never runs
    await define_template(client, owner, org)
    await events.drain()
    assert await titles(client, people["ann"]) == []
    [dismissed] = await outbox(database_url, "workflow.effect.dismissed")
    assert (dismissed["effectId"], dismissed["reason"], dismissed["actorId"]) == (
        effect["id"],
        "Sent by hand instead",
        owner.user_id,
    )
    assert dismissed["error"] == effect["error"]


async def test_incidents_on_documents_the_caller_may_not_read_are_left_out(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    body = notifying()
    del body["transitions"][0]["roles"]  # the owner approves (the approvers cannot read it)
    await published(client, owner, org, definition=body)
    hidden = await uploaded(client, owner, org, pdf(b"sealed"), title="Sealed")
    r = await client.put(
        f"{DOCS}/{hidden['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    on_reference = await started(client, owner, org)
    on_hidden = await started(client, owner, org, subject={"documentId": hidden["id"]})
    for instance in (on_reference, on_hidden):
        r = await move(client, owner, instance, "approve")
        assert r.status_code == 200, r.text
    await events.drain()
    await role(
        client,
        owner,
        org,
        "Operator",
        ["workflow.incidents.manage", "workflow.instances.read", "content.documents.read"],
    )
    r = await client.patch(
        f"{API}/orgs/{org}/members/{people['cy'].user_id}",
        json={"roles": ["Operator"]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text

    r = await client.get(INCIDENTS, params={"organisationId": org}, headers=owner.auth)
    assert {i["instanceId"] for i in r.json()["items"]} == {on_reference["id"], on_hidden["id"]}
    r = await client.get(
        INCIDENTS, params={"organisationId": org, "limit": 1}, headers=people["cy"].auth
    )
    assert [i["instanceId"] for i in r.json()["items"]] == [on_reference["id"]]
    assert r.json()["nextCursor"] is None
    r = await client.get(
        INCIDENTS, params={"organisationId": org, "workflowKey": "other"}, headers=owner.auth
    )
    assert r.json()["items"] == []


async def test_two_retries_at_once_queue_the_effect_once(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner, _, _, instance = await failed_instance(client, database_url)
    [row] = await fetch(database_url, "SELECT id FROM workflow.effects")
    await fetch(database_url, "UPDATE workflow.effects SET status = 'failed', error = 'x'")
    before = await fetch(
        database_url,
        "SELECT count(*) AS n FROM workflow.outbox WHERE event_type = 'kernel.job_requested'",
    )
    retry = f"{INSTANCES}/{instance['id']}/effects/{row['id']}/retry"
    answers = await asyncio.gather(*(client.post(retry, headers=owner.auth) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
    after = await fetch(
        database_url,
        "SELECT count(*) AS n FROM workflow.outbox WHERE event_type = 'kernel.job_requested'",
    )
    assert after[0]["n"] - before[0]["n"] == 1
    [effect] = await fetch(database_url, "SELECT status, retries FROM workflow.effects")
    assert (effect["status"], effect["retries"]) == ("pending", 1)


async def test_a_workflows_incidents_run_again_together_once_the_cause_is_fixed(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    ann = people["ann"]
    await published(client, owner, org, definition=notifying())
    for _ in range(3):
        instance = await started(client, ann, org)
        r = await move(client, ann, instance, "approve")
        assert r.status_code == 200, r.text
    await events.drain()
    url = f"{API}/workflows/invoice/incidents/retry"
    body: dict[str, Any] = {"organisationId": org}

    r = await client.post(url, json=body, headers=ann.auth)
    assert r.status_code == 403
    stranger = await person(client, database_url, "stranger@example.com")
    r = await client.post(url, json=body, headers=stranger.auth)
    assert r.status_code == 404
    r = await client.post(url, json={**body, "kind": "setTags"}, headers=owner.auth)
    assert r.json() == {"retried": [], "remaining": 3}

    await define_template(client, owner, org)
    r = await client.post(url, json={**body, "limit": 2}, headers=owner.auth)
    assert (len(r.json()["retried"]), r.json()["remaining"]) == (2, 1)
    r = await client.post(url, json={**body, "kind": "notify"}, headers=owner.auth)
    assert (len(r.json()["retried"]), r.json()["remaining"]) == (1, 0)
    await events.drain()
    assert await titles(client, ann) == ["Approved"] * 3
    rows = await fetch(database_url, "SELECT status, retries FROM workflow.effects")
    assert {(x["status"], x["retries"]) for x in rows} == {("done", 1)}
    assert len(await outbox(database_url, "workflow.effect.retried")) == 3
