"""A ``notify`` action's ``channels`` and ``priority``: checked at publish, and carried to
communication as a ``POST /notifications`` would carry them (``critical`` bypasses
preferences and quiet hours)."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.identity.support import fetch
from tests.integration.workflow.support import (
    Client,
    approval,
    approval_notifying,
    move,
    publish,
    published,
    started,
    team,
    titles,
)


async def test_bad_channels_and_priorities_are_refused_at_publish(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    body = approval()
    body["transitions"][0]["actions"] = [
        {"kind": "notify", "templateKey": "general.announcement", "to": {"starter": True}, **x}
        for x in (
            {"channels": "email"},
            {"channels": []},
            {"channels": ["fax"]},
            {"channels": ["email", "email"]},
            {"priority": "urgent"},
            {"channels": ["in_app", "email"], "priority": "critical"},
        )
    ]
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    at = "definition.transitions[0].actions"
    assert {e["field"] for e in r.json()["errors"]} == {
        f"{at}[0].channels",
        f"{at}[1].channels",
        f"{at}[2].channels",
        f"{at}[3].channels",
        f"{at}[4].priority",
    }


async def test_the_notice_goes_on_the_channels_and_with_the_priority_named(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    await published(
        client, owner, org, definition=approval_notifying(channels=["in_app"], priority="critical")
    )
    ann = people["ann"]
    instance = await started(client, ann, org)
    r = await move(client, ann, instance, "approve")
    assert r.status_code == 200, r.text
    await events.drain()
    assert await titles(client, ann) == ["Approved"]
    [row] = await fetch(database_url, "SELECT priority, channels FROM communication.notifications")
    assert (row["priority"], json.loads(row["channels"])) == ("critical", ["in_app"])
    mails = await fetch(
        database_url,
        "SELECT count(*) AS n FROM communication.deliveries WHERE channel = 'email'",
    )
    assert mails[0]["n"] == 0  # in-app only, though the template has an e-mail
