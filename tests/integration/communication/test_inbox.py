"""The inbox through HTTP: filters, marks, snooze (with a moved clock), read-all, cursor
pages, and an unread count that stays exact under concurrent marks and arrivals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    inbox,
    org_with,
    send,
    sent,
    unread,
    use_clock,
)
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import api_key


async def test_marks_filters_snooze_and_pages(
    client: Client, app: Litestar, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    to_ann = {"userIds": [ann.user_id]}
    for n in range(3):
        await sent(client, owner, org, recipients=to_ann, payload={"title": f"g{n}", "text": "t"})
    await sent(
        client,
        owner,
        org,
        recipients=to_ann,
        template="security.alert",
        payload={"summary": "s", "detail": "d"},
    )
    await events.drain()
    items = await inbox(client, ann)
    assert [i["title"] for i in items] == ["Security: s", "g2", "g1", "g0"]  # newest first
    assert await unread(client, ann) == 4
    security, g2, g1, g0 = (i["id"] for i in items)

    def url(item: str, action: str) -> str:
        return f"{NOTIFICATIONS}/{item}/{action}"

    r = await client.post(url(g2, "read"), headers=ann.auth)
    assert r.status_code == 200
    assert r.json()["readAt"] is not None
    again = await client.post(url(g2, "read"), headers=ann.auth)
    assert again.json()["readAt"] == r.json()["readAt"]  # the first read time stays
    assert (await client.post(url(g1, "archive"), headers=ann.auth)).json()["archivedAt"]
    assert await unread(client, ann) == 2
    assert [i["id"] for i in await inbox(client, ann, status="unread")] == [security, g0]
    assert [i["id"] for i in await inbox(client, ann, status="read")] == [g2]
    assert [i["id"] for i in await inbox(client, ann, status="archived")] == [g1]
    assert [i["id"] for i in await inbox(client, ann, category="security")] == [security]
    assert g1 not in {i["id"] for i in await inbox(client, ann)}  # archived: not by default
    await client.post(url(g1, "unarchive"), headers=ann.auth)
    await client.post(url(g2, "unread"), headers=ann.auth)
    assert await unread(client, ann) == 4

    # pages of one, by cursor, newest first
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await client.get(NOTIFICATIONS, params=params, headers=ann.auth)
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == [security, g2, g1, g0]
    r = await client.get(NOTIFICATIONS, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=ann.auth)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor")

    # snooze: out of the count until then, unread again after (the clock moves)
    clock = MovableClock(datetime.now(UTC))
    use_clock(clock, app=app, worker=None)
    until = (clock() + timedelta(hours=1)).isoformat()
    r = await client.post(url(g0, "snooze"), json={"until": until}, headers=ann.auth)
    assert r.status_code == 200, r.text
    assert await unread(client, ann) == 3
    assert [i["id"] for i in await inbox(client, ann, status="snoozed")] == [g0]
    past = (clock() - timedelta(minutes=1)).isoformat()
    r = await client.post(url(g0, "snooze"), json={"until": past}, headers=ann.auth)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "until")
    clock.advance(hours=2)
    assert await unread(client, ann) == 4
    assert g0 in {i["id"] for i in await inbox(client, ann, status="unread")}

    r = await client.post(
        f"{NOTIFICATIONS}/read-all", params={"category": "general"}, headers=ann.auth
    )
    assert r.json() == {"updated": 3}
    assert await unread(client, ann) == 1
    r = await client.post(f"{NOTIFICATIONS}/read-all", headers=ann.auth)
    assert r.json() == {"updated": 1}
    assert await unread(client, ann) == 0

    # the inbox is a person's: an API key is refused, no token is 401
    key = await api_key(client, ann, ["content.documents.read"])
    r = await client.get(NOTIFICATIONS, headers={"X-API-Key": key["key"]})
    assert (r.status_code, r.json()["code"]) == (403, "session_required")
    assert (await client.get(f"{NOTIFICATIONS}/unread-count")).status_code == 401
    r = await client.post(url("not-a-uuid", "read"), headers=ann.auth)
    assert r.status_code in (400, 404)


async def test_unread_count_is_exact_under_concurrent_marks_and_arrivals(
    live_client: httpx.AsyncClient, database_url: str, events: InProcessWorker
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    to_ann = {"userIds": [ann.user_id]}
    await asyncio.gather(*(sent(client, owner, org, recipients=to_ann) for _ in range(50)))
    await events.drain()
    items = await inbox(client, ann, limit=100)
    assert len(items) == 50

    marks = [client.post(f"{NOTIFICATIONS}/{i['id']}/read", headers=ann.auth) for i in items]
    marks += [client.post(f"{NOTIFICATIONS}/{i['id']}/read", headers=ann.auth) for i in items[:10]]
    arrivals = [send(client, owner, org, recipients=to_ann) for _ in range(40)]
    counts = [unread(client, ann) for _ in range(10)]
    results = await asyncio.gather(*marks, *arrivals, *counts)
    assert all(r.status_code in (200, 202) for r in results[: len(marks) + len(arrivals)])
    await events.drain()

    assert await unread(client, ann) == 40
    rows = await fetch(
        database_url,
        "SELECT count(*) AS n FROM communication.inbox_items"
        " WHERE user_id = $1 AND read_at IS NULL",
        ann.user_id,
    )
    assert rows[0]["n"] == 40
    assert len(await inbox(client, ann, status="unread", limit=100)) == 40
