"""Human tasks through HTTP: two-of-M approvals, four eyes, mandatory reasons, claim,
unclaim and delegation, and tasks ending with their state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    history,
    move,
    published,
    started,
    team,
)

TASKS = f"{API}/tasks"


def approvals(required: int = 2) -> dict[str, Any]:
    return {
        "states": [
            {
                "name": "review",
                "initial": True,
                "onEnter": [
                    {
                        "kind": "createTask",
                        "name": "Approve the invoice",
                        "roles": ["approver"],
                        "approvals": required,
                        "dueInMinutes": 120,
                        "outcomes": {
                            "approve": {"transition": "approve"},
                            "reject": {"transition": "reject", "reasonRequired": True},
                        },
                    }
                ],
            },
            {"name": "approved", "final": True},
            {"name": "rejected", "final": True},
        ],
        "transitions": [
            {"name": "approve", "from": "review", "to": "approved", "roles": ["approver"]},
            {"name": "reject", "from": "review", "to": "rejected", "roles": ["approver"]},
        ],
    }


async def tasks(client: Client, who: Person, org: str, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(TASKS, params={"organisationId": org, **params}, headers=who.auth)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def act(client: Client, who: Person, task_id: str, what: str, **body: Any) -> Any:
    return await client.post(f"{TASKS}/{task_id}/{what}", json=body or None, headers=who.auth)


async def test_two_of_m_approval(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=approvals(2))
    instance = await started(client, owner, org)
    assert instance["transitions"] == []  # both are taken by the task
    ann, bob, cy = people["ann"], people["bob"], people["cy"]
    (task,) = await tasks(client, ann, org)
    assert task["instanceId"] == instance["id"]
    assert (task["name"], task["state"], task["assigneeId"]) == (
        "Approve the invoice",
        "open",
        None,
    )
    assert task["candidateRoles"] == ["approver"]
    assert task["requiredApprovals"] == 2
    assert task["reasonRequired"] == ["reject"]
    assert task["dueAt"] is not None
    assert await tasks(client, cy, org) == []  # not an approver

    r = await act(client, cy, task["id"], "complete", outcome="approve")
    assert r.status_code == 403
    r = await move(client, ann, instance, "approve")  # around the task: refused
    assert r.status_code == 422
    assert r.json()["code"] == "transition_via_task"
    r = await act(client, ann, task["id"], "complete", outcome="approve")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open"
    assert [v["userId"] for v in r.json()["votes"]] == [ann.user_id]
    r = await act(client, ann, task["id"], "complete", outcome="approve")
    assert r.status_code == 409
    assert r.json()["code"] == "already_voted"
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
    assert r.json()["state"] == "review"

    r = await act(client, bob, task["id"], "complete", outcome="approve")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["outcome"]) == ("completed", "approve")
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
    assert r.json()["state"] == "approved"
    last = (await history(client, owner, instance["id"]))[-1]
    assert (last["transition"], last["actorId"]) == ("approve", bob.user_id)
    assert last["data"] == {"taskId": task["id"], "outcome": "approve"}
    assert await tasks(client, ann, org) == []
    assert [t["id"] for t in await tasks(client, ann, org, state="completed")] == [task["id"]]


async def test_four_eyes_and_mandatory_reasons(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=approvals(2))
    ann, bob = people["ann"], people["bob"]
    instance = await started(client, ann, org)  # ann started it: she cannot approve it
    (task,) = await tasks(client, bob, org)
    r = await act(client, ann, task["id"], "complete", outcome="approve")
    assert r.status_code == 403
    assert r.json()["code"] == "four_eyes"
    r = await act(client, bob, task["id"], "complete", outcome="reject")
    assert r.status_code == 422
    assert r.json()["code"] == "reason_required"
    r = await act(client, bob, task["id"], "complete", outcome="reject", reason="   ")
    assert r.status_code == 422
    r = await act(client, bob, task["id"], "complete", outcome="maybe")
    assert r.status_code == 422
    r = await act(client, bob, task["id"], "complete", outcome="reject", reason="Wrong VAT")
    assert r.status_code == 200, r.text  # one rejection rejects, whatever N is
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
    assert r.json()["state"] == "rejected"
    last = (await history(client, owner, instance["id"]))[-1]
    assert last["data"]["reason"] == "Wrong VAT"
    r = await act(client, bob, task["id"], "complete", outcome="approve")
    assert r.status_code == 409


async def test_claim_unclaim_and_delegate(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=approvals(1))
    instance = await started(client, owner, org)
    ann, bob, cy = people["ann"], people["bob"], people["cy"]
    (task,) = await tasks(client, ann, org)
    tid = task["id"]

    assert (await act(client, cy, tid, "claim")).status_code == 403
    r = await act(client, ann, tid, "claim")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["assigneeId"]) == ("claimed", ann.user_id)
    assert (await act(client, ann, tid, "claim")).status_code == 200  # again: unchanged
    r = await act(client, bob, tid, "claim")
    assert r.status_code == 409
    assert r.json()["code"] == "task_claimed"
    assert await tasks(client, bob, org) == []  # held by ann now
    assert (await act(client, bob, tid, "unclaim")).status_code == 409

    r = await act(client, ann, tid, "unclaim")
    assert (r.json()["state"], r.json()["assigneeId"]) == ("open", None)
    assert [t["id"] for t in await tasks(client, bob, org)] == [tid]

    r = await act(client, ann, tid, "delegate", userId=cy.user_id)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["assigneeId"]) == ("claimed", cy.user_id)
    assert [t["id"] for t in await tasks(client, cy, org)] == [tid]  # routed to cy
    r = await act(client, ann, tid, "delegate", userId=bob.user_id)
    assert r.status_code == 403  # ann no longer holds it
    r = await act(client, cy, tid, "delegate", userId=str(uuid.uuid4()))
    assert r.status_code == 422  # not a member
    r = await client.get(f"{TASKS}/{tid}", headers=bob.auth)
    assert r.status_code == 404  # bob is no longer a candidate of a task held by someone
    r = await client.get(f"{TASKS}/{tid}", headers=owner.auth)
    assert r.status_code == 200  # owners hold workflow.tasks.manage

    r = await act(client, cy, tid, "complete", outcome="approve")
    assert r.status_code == 200, r.text
    r = await client.get(f"{INSTANCES}/{instance['id']}", headers=owner.auth)
    assert r.json()["state"] == "approved"


async def test_leaving_the_state_ends_its_tasks(client: Client, database_url: str) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=approvals(2))
    instance = await started(client, owner, org)
    (task,) = await tasks(client, people["ann"], org)
    r = await client.post(
        f"{INSTANCES}/{instance['id']}/cancel", json={"expectedVersion": 1}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert await tasks(client, people["ann"], org) == []
    (gone,) = await tasks(client, people["ann"], org, state="cancelled")
    assert gone["id"] == task["id"]
    r = await act(client, people["ann"], task["id"], "complete", outcome="approve")
    assert r.status_code == 409


async def test_out_of_office_routes_tasks_to_the_delegate(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    ann, bob = people["ann"], people["bob"]
    body = approvals(1)
    body["states"][0]["onEnter"][0].pop("roles")
    body["states"][0]["onEnter"][0]["assignee"] = ann.user_id
    await published(client, owner, org, definition=body)
    await started(client, owner, org)
    (held,) = await tasks(client, ann, org)
    assert held["assigneeId"] == ann.user_id

    url = f"{TASKS}/out-of-office"
    params = {"organisationId": org}
    now = datetime.now(UTC)
    window = {
        "delegateId": bob.user_id,
        "startsAt": (now - timedelta(hours=1)).isoformat(),
        "endsAt": (now + timedelta(days=30)).isoformat(),
    }
    r = await client.put(url, params=params, json=window, headers=ann.auth)
    assert r.status_code == 200, r.text
    assert r.json()["moved"] == 1  # the window runs: what ann holds goes to bob
    assert await tasks(client, ann, org) == []
    assert [t["id"] for t in await tasks(client, bob, org)] == [held["id"]]

    await started(client, owner, org)  # a new task for ann goes straight to bob
    assert len(await tasks(client, bob, org)) == 2
    assert await tasks(client, ann, org) == []

    r = await client.get(url, params=params, headers=ann.auth)
    assert r.json()["delegateId"] == bob.user_id
    for bad in (
        {**window, "delegateId": ann.user_id},
        {**window, "delegateId": str(uuid.uuid4())},
        {**window, "endsAt": "2019-01-01T00:00:00Z"},
        {**window, "endsAt": (now + timedelta(days=400)).isoformat()},
    ):
        r = await client.put(url, params=params, json=bad, headers=ann.auth)
        assert r.status_code == 422, r.text
    r = await client.put(
        url, params=params, json={**window, "startsAt": "2020-01-01T00:00:00"}, headers=ann.auth
    )
    assert r.status_code == 400  # an instant needs its zone
    assert (await client.delete(url, params=params, headers=ann.auth)).status_code == 204
    assert (await client.get(url, params=params, headers=ann.auth)).status_code == 404
    assert (await client.delete(url, params=params, headers=ann.auth)).status_code == 404
    await started(client, owner, org)
    assert len(await tasks(client, ann, org)) == 1  # back from leave: ann's own again
