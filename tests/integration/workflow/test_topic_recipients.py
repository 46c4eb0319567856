"""``notify`` to a notification topic's subscribers (``to.topics``): checked against the
organisation's topics when the definition is published; when the step is taken, the
subscribers who are still members are told, and a topic deleted since reaches nobody
without failing the notice for its other recipients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person
from tests.integration.workflow.support import (
    Client,
    approval,
    approval_notifying,
    move,
    publish,
    published,
    started,
    team,
    timer_service,
    titles,
    use_clock,
)

ON_CALL = "on-call"


async def on_call_topic(client: Client, owner: Person, org: str, *members: Person) -> str:
    r = await client.post(
        f"{API}/orgs/{org}/topics", json={"key": ON_CALL, "name": "On call"}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    url = f"{API}/orgs/{org}/topics/{ON_CALL}"
    for who in members:
        r = await client.put(f"{url}/subscribers/me", headers=who.auth)
        assert r.status_code == 200, r.text
    return url


async def test_unknown_or_malformed_topics_are_refused_at_publish(
    client: Client, database_url: str
) -> None:
    owner, org, _ = await team(client, database_url)
    await on_call_topic(client, owner, org)
    body = approval()
    body["transitions"][0]["actions"] = [
        {"kind": "notify", "templateKey": "general.announcement", "to": to}
        for to in (
            {"topics": [ON_CALL, "night-shift"]},
            {"topics": "on-call"},
            {"topics": [7]},
            {"topics": []},
        )
    ]
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    at = "definition.transitions[0].actions"
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert errors[f"{at}[0].to.topics[1]"] == "unknown topic 'night-shift'"
    assert f"{at}[0].to.topics[0]" not in errors  # the organisation's own topic is known
    assert {f"{at}[1].to.topics", f"{at}[2].to.topics[0]", f"{at}[3].to"} <= set(errors)
    assert "topics" in errors[f"{at}[3].to"]  # "names nobody (…, topics)"
    rows = await fetch(database_url, "SELECT count(*) AS n FROM workflow.definitions")
    assert rows[0]["n"] == 0


async def test_another_organisations_topic_is_unknown(client: Client, database_url: str) -> None:
    owner, org, _ = await team(client, database_url)
    r = await client.post(f"{API}/orgs", json={"name": "Elsewhere"}, headers=owner.auth)
    assert r.status_code == 201, r.text
    await on_call_topic(client, owner, r.json()["id"])
    r = await publish(client, owner, org, definition=approval_notifying(to={"topics": [ON_CALL]}))
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["definition.transitions[0].actions[0].to.topics[0]"]


async def test_the_topics_subscribers_who_are_members_are_told_once(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    ann, bob, cy = people["ann"], people["bob"], people["cy"]
    await on_call_topic(client, owner, org, bob, cy)
    # Bob is named twice (by the topic and by id): one notice
    to = {"topics": [ON_CALL], "userIds": [bob.user_id]}
    await published(client, owner, org, definition=approval_notifying(to=to))
    # Cy leaves the organisation: still subscribed, never reached
    r = await client.delete(f"{API}/orgs/{org}/members/{cy.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text

    instance = await started(client, ann, org)
    r = await move(client, ann, instance, "approve")
    assert r.status_code == 200, r.text
    await events.drain()
    assert await titles(client, bob) == ["Approved"]
    assert await titles(client, cy) == []
    assert await titles(client, ann) == []  # the starter is not subscribed
    assert await titles(client, owner) == []
    [effect] = await fetch(database_url, "SELECT status FROM workflow.effects")
    assert effect["status"] == "done"


async def test_a_topic_deleted_since_reaches_nobody_and_the_others_are_still_told(
    client: Client, database_url: str, events: Any
) -> None:
    owner, org, people = await team(client, database_url)
    ann, bob = people["ann"], people["bob"]
    url = await on_call_topic(client, owner, org, bob)
    await published(
        client, owner, org, definition=approval_notifying(to={"topics": [ON_CALL], "starter": True})
    )
    r = await client.delete(url, headers=owner.auth)
    assert r.status_code == 204, r.text

    instance = await started(client, ann, org)
    r = await move(client, ann, instance, "approve")
    assert r.status_code == 200, r.text
    await events.drain()
    assert await titles(client, ann) == ["Approved"]  # the starter
    assert await titles(client, bob) == []  # the topic is gone, and with it his subscription
    [effect] = await fetch(database_url, "SELECT status, error FROM workflow.effects")
    assert (effect["status"], effect["error"]) == ("done", None)


async def test_an_sla_escalation_reaches_a_topic(
    client: Client, app: Litestar, database_url: str, events: Any, settings: Settings
) -> None:
    clock = MovableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    use_clock(clock, app)
    owner, org, people = await team(client, database_url)
    await on_call_topic(client, owner, org, people["bob"])
    body = approval()
    body["states"][0]["slaLadder"] = [{"at": 100, "kind": "escalate", "topics": ["nobody"]}]
    r = await publish(client, owner, org, definition=body)
    assert r.status_code == 422, r.text
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert fields == {"definition.states[0].slaLadder[0].topics[0]": "unknown topic 'nobody'"}
    body["states"][0]["slaLadder"] = [{"at": 100, "kind": "escalate"}]
    r = await publish(client, owner, org, definition=body)
    assert [e["field"] for e in r.json()["errors"]] == ["definition.states[0].slaLadder[0].roles"]

    body["states"][0]["slaLadder"] = [{"at": 100, "kind": "escalate", "topics": [ON_CALL]}]
    await published(client, owner, org, definition=body)
    await started(client, people["ann"], org)
    clock.advance(minutes=60)
    async with timer_service(settings, clock) as service:
        assert await service.fire_due() == 1
    await events.drain()
    assert await titles(client, people["bob"]) == ["Escalated: invoice is over its time in review"]
    assert await titles(client, people["cy"]) == []
