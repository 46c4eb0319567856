"""The issue's document approval end to end through HTTP: uploading an invoice starts an
instance (trigger) → a two-of-M task for role approver → a reminder at 80 % and an
escalation at 100 % of the SLA (test clock) → two approvals → the document gets the tag
``approved`` and the uploader a notification → the history and the audit trail share the
approving request's correlation id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.content.support import uploaded
from tests.integration.identity.support import API
from tests.integration.workflow.support import (
    INSTANCES,
    Client,
    history,
    published,
    team,
    timer_service,
    titles,
    use_clock,
)

TASKS = f"{API}/tasks"


def document_approval() -> dict[str, Any]:
    return {
        "states": [
            {
                "name": "review",
                "initial": True,
                "slaMinutes": 100,
                "slaLadder": [
                    {"at": 80, "kind": "remind"},
                    {"at": 100, "kind": "escalate", "roles": ["owner"]},
                ],
                "onEnter": [
                    {
                        "kind": "createTask",
                        "name": "Approve the invoice",
                        "roles": ["approver"],
                        "approvals": 2,
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
            {
                "name": "approve",
                "from": "review",
                "to": "approved",
                "roles": ["approver"],
                "actions": [
                    {"kind": "setTags", "tags": ["approved"]},
                    {
                        "kind": "notify",
                        "templateKey": "general.announcement",
                        "to": {"starter": True},
                        "payload": {"title": "Invoice approved", "text": "Two approvals."},
                    },
                ],
            },
            {"name": "reject", "from": "review", "to": "rejected", "roles": ["approver"]},
        ],
        "triggers": [
            {"event": "content.document.uploaded", "filter": "event.title.startsWith('Invoice')"}
        ],
    }


async def test_document_approval_end_to_end(
    client: Client, app: Litestar, database_url: str, events: Any, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app, events)
    owner, org, people = await team(client, database_url)
    ann, bob = people["ann"], people["bob"]
    await published(client, owner, org, key="invoice-approval", definition=document_approval())

    doc = await uploaded(client, owner, org, b"total 1200", file_name="inv.txt", title="Invoice 7")
    await events.drain()
    r = await client.get(INSTANCES, params={"organisationId": org}, headers=owner.auth)
    (instance,) = r.json()["items"]
    assert (instance["state"], instance["subject"]["documentId"]) == ("review", doc["id"])
    (task,) = [
        t
        for t in (await client.get(TASKS, params={"organisationId": org}, headers=ann.auth)).json()[
            "items"
        ]
    ]
    assert task["requiredApprovals"] == 2

    # The uploader owns the document: four eyes keep them out even with the role.
    r = await client.post(
        f"{TASKS}/{task['id']}/complete", json={"outcome": "approve"}, headers=owner.auth
    )
    assert r.status_code == 403

    async with timer_service(settings, clock) as timers:
        clock.advance(minutes=80)
        assert await timers.fire_due() == 1
        clock.advance(minutes=20)
        assert await timers.fire_due() == 1
    await events.drain()
    assert await titles(client, ann) == ["Reminder: invoice-approval is waiting in review"]
    assert await titles(client, owner) == ["Escalated: invoice-approval is over its time in review"]

    r = await client.post(
        f"{TASKS}/{task['id']}/complete", json={"outcome": "approve"}, headers=ann.auth
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{TASKS}/{task['id']}/complete",
        json={"outcome": "approve"},
        headers={**bob.auth, "X-Request-Id": "req-second-approval"},
    )
    assert r.status_code == 200, r.text
    await events.drain()

    r = await client.get(f"{API}/documents/{doc['id']}", headers=owner.auth)
    assert [t["name"] for t in r.json()["tags"]] == ["approved"]
    assert (await titles(client, owner))[0] == "Invoice approved"
    last = (await history(client, owner, instance["id"]))[-1]
    assert (last["toState"], last["actorId"]) == ("approved", bob.user_id)
    assert last["correlationId"] == "req-second-approval"
    r = await client.get(
        f"{API}/audit", params={"organisationId": org, "limit": 100}, headers=owner.auth
    )
    actions = {
        item["action"]
        for item in r.json()["items"]
        if item["correlationId"] == "req-second-approval"
    }
    assert {"workflow.instance.transitioned", "workflow.instance.completed"} <= actions
