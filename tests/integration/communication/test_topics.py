"""Topics: named groups of members a notification goes to. Members join and leave them
themselves, managers add and remove others; a send naming topics reaches their
subscribers who are members, each once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from hub.communication.handlers import on_member_removed
from hub.identity.api import MemberRemoved
from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support import Client, inbox, org_with, send, sent
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, invite, person

TENDER = {"key": "tender-acme-42", "name": "Tender ACME-42", "description": "Clarifications"}


def _topics(org: str) -> str:
    return f"{API}/orgs/{org}/topics"


async def _topic(client: Any, owner: Person, org: str, **body: Any) -> dict[str, Any]:
    r = await client.post(_topics(org), json={**TENDER, **body}, headers=owner.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _events(database_url: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await fetch(
        database_url,
        "SELECT event_type, payload FROM communication.outbox"
        " WHERE event_type LIKE 'communication.topic.%' ORDER BY position",
    )
    return [(r["event_type"], json.loads(r["payload"])) for r in rows]


async def test_members_join_and_leave_and_a_send_reaches_the_subscribers(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(
        client, database_url, ("ann", None), ("bob", None), ("cy", None)
    )
    ann, bob, cy = people["ann"], people["bob"], people["cy"]
    topic = await _topic(client, owner, org)
    assert (topic["key"], topic["subscribers"], topic["subscribed"]) == (TENDER["key"], 0, False)
    url = f"{_topics(org)}/{TENDER['key']}"
    for who in (ann, bob):
        r = await client.put(f"{url}/subscribers/me", headers=who.auth)
        assert r.json() == {
            "key": TENDER["key"],
            "userId": who.user_id,
            "subscribed": True,
            "changed": True,
        }
    r = await client.put(f"{url}/subscribers/me", headers=ann.auth)  # again: no change
    assert r.json()["changed"] is False
    r = await client.get(url, headers=ann.auth)
    assert (r.json()["subscribers"], r.json()["subscribed"]) == (2, True)
    r = await client.get(_topics(org), headers=cy.auth)
    assert [(t["key"], t["subscribed"]) for t in r.json()["items"]] == [(TENDER["key"], False)]

    # one send naming the topic (and Ann again by id): Ann and Bob, once each
    answer = await sent(
        client, owner, org, recipients={"topics": [TENDER["key"]], "userIds": [ann.user_id]}
    )
    assert answer["recipientCount"] == 2
    await events.drain()
    assert len(await inbox(client, ann)) == 1
    assert len(await inbox(client, bob)) == 1
    assert await inbox(client, cy) == []

    r = await client.delete(f"{url}/subscribers/me", headers=bob.auth)
    assert (r.status_code, r.json()["subscribed"], r.json()["changed"]) == (200, False, True)
    r = await client.delete(f"{url}/subscribers/me", headers=bob.auth)
    assert r.json()["changed"] is False
    answer = await sent(client, owner, org, recipients={"topics": [TENDER["key"]]})
    assert answer["recipientCount"] == 1
    assert [t for t, _ in await _events(database_url)] == [
        "communication.topic.created",
        "communication.topic.subscribed",
        "communication.topic.subscribed",
        "communication.topic.unsubscribed",
    ]


async def test_managers_add_and_remove_members_and_define_topics(
    client: Client, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    stranger = await person(client, database_url, "stranger@example.com")
    await _topic(client, owner, org)
    url = f"{_topics(org)}/{TENDER['key']}"
    # a member may not define topics nor subscribe others, and may not read the list
    r = await client.post(_topics(org), json={**TENDER, "key": "other"}, headers=ann.auth)
    assert r.status_code == 403
    r = await client.put(f"{url}/subscribers/{bob.user_id}", headers=ann.auth)
    assert r.status_code == 403
    r = await client.get(f"{url}/subscribers", headers=ann.auth)
    assert r.status_code == 403
    # a manager (the owner) subscribes Bob; a non-member is refused and nothing changes
    r = await client.put(f"{url}/subscribers/{bob.user_id}", headers=owner.auth)
    assert (r.status_code, r.json()["changed"]) == (200, True)
    r = await client.put(f"{url}/subscribers/{stranger.user_id}", headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (422, "not_a_member")
    r = await client.get(f"{url}/subscribers", headers=owner.auth)
    assert [(s["userId"], s["addedBy"]) for s in r.json()["items"]] == [
        (bob.user_id, owner.user_id)
    ]
    (subscribed,) = [p for t, p in await _events(database_url) if t.endswith(".subscribed")]
    assert (subscribed["userId"], subscribed["actorId"]) == (bob.user_id, owner.user_id)
    r = await client.delete(f"{url}/subscribers/{bob.user_id}", headers=owner.auth)
    assert r.json()["changed"] is True
    # rename; a second topic with the same key; outsiders and unknown keys
    r = await client.patch(url, json={"name": "  ACME 42  tender "}, headers=owner.auth)
    assert (r.status_code, r.json()["name"]) == (200, "ACME 42 tender")
    r = await client.post(_topics(org), json=TENDER, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "topic_exists")
    for bad in ({**TENDER, "key": "Not A Key"}, {**TENDER, "key": "x", "name": ""}):
        r = await client.post(_topics(org), json=bad, headers=owner.auth)
        assert r.status_code in (400, 422), r.text
    r = await client.get(url, headers=stranger.auth)
    assert r.status_code == 404
    r = await client.put(f"{_topics(org)}/unknown/subscribers/me", headers=ann.auth)
    assert r.status_code == 404
    # deleting the topic drops its subscriptions
    await client.put(f"{url}/subscribers/me", headers=ann.auth)
    r = await client.delete(url, headers=owner.auth)
    assert r.status_code == 204
    rows = await fetch(database_url, "SELECT count(*) AS n FROM communication.topic_subscriptions")
    assert rows[0]["n"] == 0
    assert (await client.get(url, headers=owner.auth)).status_code == 404


async def test_a_send_naming_unknown_topics_is_refused_and_leavers_are_never_reached(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    await _topic(client, owner, org)
    elsewhere = (await create_org(client, owner, "Elsewhere"))["id"]
    await _topic(client, owner, elsewhere, key="elsewhere-only")
    url = f"{_topics(org)}/{TENDER['key']}"
    for who in (ann, bob):
        await client.put(f"{url}/subscribers/me", headers=who.auth)
    r = await send(
        client, owner, org, recipients={"topics": [TENDER["key"], "nope", "elsewhere-only"]}
    )
    assert (r.status_code, r.json()["code"]) == (422, "unknown_topic")
    assert [e["field"] for e in r.json()["errors"]] == [
        "recipients.topics[1]",
        "recipients.topics[2]",
    ]
    r = await send(client, owner, org, recipients={"topics": ["Bad Key"]})
    assert r.status_code == 400
    rows = await fetch(database_url, "SELECT count(*) AS n FROM communication.notifications")
    assert rows[0]["n"] == 0
    # Bob leaves the organisation: his subscription no longer reaches him
    r = await client.delete(f"{API}/orgs/{org}/members/{bob.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text
    answer = await sent(client, owner, org, recipients={"topics": [TENDER["key"]]})
    assert answer["recipientCount"] == 1
    await events.drain()
    assert await inbox(client, bob) == []


async def test_someone_removed_leaves_the_topics(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    await _topic(client, owner, org)
    await _topic(client, owner, org, key="night-shift", name="Night shift")
    for key in (TENDER["key"], "night-shift"):
        for who in (ann, bob):
            r = await client.put(f"{_topics(org)}/{key}/subscribers/me", headers=who.auth)
            assert r.status_code == 200, r.text
    r = await client.delete(f"{API}/orgs/{org}/members/{bob.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text
    await events.drain()

    r = await client.get(_topics(org), headers=ann.auth)
    assert [(t["key"], t["subscribers"]) for t in r.json()["items"]] == [
        ("night-shift", 1),
        (TENDER["key"], 1),
    ]
    r = await client.get(f"{_topics(org)}/night-shift/subscribers", headers=owner.auth)
    assert [s["userId"] for s in r.json()["items"]] == [ann.user_id]
    left = [
        (p["key"], p["userId"], p["actorId"])
        for t, p in await _events(database_url)
        if t == "communication.topic.unsubscribed"
    ]
    assert sorted(left) == [
        ("night-shift", bob.user_id, owner.user_id),
        (TENDER["key"], bob.user_id, owner.user_id),
    ]


async def test_a_removal_handled_once_the_person_is_back_keeps_their_topics(
    client: Client, settings: Settings, database_url: str
) -> None:
    """No worker here: the removal's event is handled by hand, after the person was
    invited back (as a busy worker could handle it)."""
    owner, org, people = await org_with(client, database_url, ("cy", None))
    cy = people["cy"]
    await _topic(client, owner, org)
    r = await client.put(f"{_topics(org)}/{TENDER['key']}/subscribers/me", headers=cy.auth)
    assert r.status_code == 200, r.text
    r = await client.delete(f"{API}/orgs/{org}/members/{cy.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text
    token = await invite(client, database_url, org, owner, "cy@example.com")
    r = await client.post(f"{API}/invitations/{token}/accept", headers=cy.auth)
    assert r.status_code == 200, r.text

    removed = MemberRemoved(
        organisation_id=uuid.UUID(org), user_id=uuid.UUID(cy.user_id), reason="removed"
    )
    async with periodic_kernel(settings, MovableClock(datetime.now(UTC))) as kernel:
        topics = kernel.services["notification_topics"]
        async with topics.store.uow() as uow:
            await on_member_removed(
                removed,
                uow,
                notification_topics=topics,
                identity_api=kernel.services["identity_api"],
            )
            await uow.commit()
    r = await client.get(f"{_topics(org)}/{TENDER['key']}", headers=cy.auth)
    assert (r.json()["subscribed"], r.json()["subscribers"]) == (True, 1)
    unsubscribed = [t for t, _ in await _events(database_url) if t.endswith("unsubscribed")]
    assert unsubscribed == []


async def test_a_hundred_and_one_at_once_never_pass_the_limit_or_a_key_twice(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    answers = await asyncio.gather(
        *(
            client.post(_topics(org), json={**TENDER, "key": "same"}, headers=owner.auth)
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    await fetch(
        database_url,
        "INSERT INTO communication.topics (id, organisation_id, key, name, created_at,"
        " updated_at) SELECT gen_random_uuid(), $1::uuid, 'k' || i, 'K', now(), now()"
        " FROM generate_series(1, 197) AS i",
        org,
    )
    answers = await asyncio.gather(
        *(
            client.post(_topics(org), json={**TENDER, "key": f"new-{i}"}, headers=owner.auth)
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in answers) == [201, 201, 409, 409]
    rows = await fetch(database_url, "SELECT count(*) AS n FROM communication.topics")
    assert rows[0]["n"] == 200
