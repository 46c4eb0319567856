"""``notify`` with ``payloadExpressions``: values computed from the step (the reviewer's
reason, the instance's variables) when it is taken, stored in the effect and sent; bad
expressions are refused at save, a failing one refuses the step and changes nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.identity.support import API, fetch
from tests.integration.workflow.support import (
    Client,
    approval,
    move,
    publish,
    published,
    started,
    team,
)
from tests.support import problem


def rejection_notice(**expressions: Any) -> dict[str, Any]:
    """The approval workflow whose ``reject`` tells the starter, with ``expressions``."""
    body = approval()
    body["transitions"][1]["actions"] = [
        {
            "kind": "notify",
            "templateKey": "general.announcement",
            "to": {"starter": True},
            "payload": {"title": "Rejected", "text": "static text, replaced"},
            "payloadExpressions": expressions,
        }
    ]
    return body


async def inbox(client: Client, who: Any) -> list[tuple[str, str]]:
    r = await client.get(f"{API}/notifications", headers=who.auth)
    assert r.status_code == 200, r.text
    return [(i["title"], i["body"]) for i in r.json()["items"]]


async def test_a_notice_carries_values_computed_when_the_step_is_taken(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    body = rejection_notice(
        text="'Rejected: ' + data.reason",
        amount="vars.amount * 2",
    )
    await published(client, owner, org, definition=body)
    ann = people["ann"]
    instance = await started(
        client, ann, org, subject={"reference": "PO-7"}, variables={"amount": 5}
    )

    r = await move(client, owner, instance, "reject", {"reason": "over budget"})
    assert r.status_code == 200, r.text
    (effect,) = await fetch(database_url, "SELECT kind, spec FROM workflow.effects")
    spec = json.loads(effect["spec"])
    assert effect["kind"] == "notify"
    assert "payloadExpressions" not in spec
    assert spec["payload"] == {"title": "Rejected", "text": "Rejected: over budget", "amount": 10}

    await events.drain()
    assert await inbox(client, ann) == [("Rejected", "Rejected: over budget")]


async def test_a_failing_expression_refuses_the_step_and_changes_nothing(
    client: Client, database_url: str
) -> None:
    owner, org, people = await team(client, database_url)
    await published(client, owner, org, definition=rejection_notice(text="data.reason + 1"))
    instance = await started(
        client, people["ann"], org, subject={"reference": "PO-8"}, variables={"amount": 5}
    )

    r = await move(client, owner, instance, "reject", {"reason": "no"})
    assert r.status_code == 422, r.text
    assert problem(r)["code"] == "action_failed"
    assert "'text'" in problem(r)["detail"]
    rows = await fetch(database_url, "SELECT state, version FROM workflow.instances")
    assert [(row["state"], row["version"]) for row in rows] == [("review", instance["version"])]
    assert await fetch(database_url, "SELECT id FROM workflow.effects") == []


async def test_bad_payload_expressions_are_refused_at_save(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    at = "definition.transitions[1].actions[0].payloadExpressions"
    for expressions, path in (
        ({"text": "data.reason +"}, f"{at}.text"),  # does not compile
        ({"text": "document.title"}, f"{at}.text"),  # a root no step has
        ({"text": 7}, f"{at}.text"),  # not a string
        ({"1text": "data.reason"}, f"{at}.1text"),  # not a name
        ({f"v{i}": "vars.amount" for i in range(21)}, at),  # too many
    ):
        r = await publish(client, owner, org, definition=rejection_notice(**expressions))
        assert r.status_code == 422, (expressions, r.text)
        assert path in {e["field"] for e in r.json()["errors"]}, r.text
    body = rejection_notice()
    body["transitions"][1]["actions"][0]["payloadExpressions"] = ["data.reason"]
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    assert at in {e["field"] for e in r.json()["errors"]}
    rows = await fetch(database_url, "SELECT count(*) AS n FROM workflow.definitions")
    assert rows[0]["n"] == 0
