"""Read state and unread counts: exact under concurrent sends and reads; and the
unread-messages notification once the (test) clock has moved past the delay, one per
unread burst, none when read in time, subject to the reader's preferences."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar

from hub.app import context_modules
from hub.communication.services.unread_notices import UnreadNotices
from hub.kernel.clock import MovableClock
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    deliveries,
    inbox,
    org_with,
    use_clock,
)
from tests.integration.communication.support_conversations import (
    CONVERSATIONS,
    conversation,
    messages,
    say,
    shown,
    unread_total,
)
from tests.integration.identity.support_orgs import Person


async def _all_messages(client: Client, who: Person, cid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = await messages(client, who, cid, limit=100)
    while True:
        out += page["items"]
        if page["nextCursor"] is None:
            return sorted(out, key=lambda m: m["seq"])
        page = await messages(client, who, cid, limit=100, cursor=page["nextCursor"])


def _expected_unread(all_messages: list[dict[str, Any]], who: Person, read_to: int) -> int:
    return sum(
        1
        for m in all_messages
        if m["seq"] > read_to and m["senderId"] != who.user_id and not m["deleted"]
    )


async def _read_to(client: Client, who: Person, cid: str) -> int:
    view = await shown(client, who, cid)
    (me,) = [p for p in view["participants"] if p["userId"] == who.user_id]
    seq: int = me["lastReadSeq"]
    return seq


async def test_unread_counts_stay_exact_under_concurrent_sends_and_reads(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    group = (await conversation(client, owner, org, ann, bob, title="Busy"))["id"]
    direct = (await conversation(client, owner, org, ann))["id"]

    # 40 sends at once from two people: ann has all 40 unread, numbered without gaps
    sends = [say(client, owner if n % 2 else bob, group, f"m{n}") for n in range(40)]
    sent = await asyncio.gather(*sends)
    assert sorted(m["seq"] for m in sent) == list(range(1, 41))
    assert (await shown(client, ann, group))["unreadCount"] == 40
    assert await unread_total(client, ann, organisationId=org) == 40
    # a sender has read up to their own latest message: only the other's later ones count
    for who, other in ((owner, bob), (bob, owner)):
        mine = max(m["seq"] for m in sent if m["senderId"] == who.user_id)
        assert await _read_to(client, who, group) == mine
        theirs = sum(1 for m in sent if m["senderId"] == other.user_id and m["seq"] > mine)
        assert (await shown(client, who, group))["unreadCount"] == theirs

    # reads up to given messages, at once and out of order: the furthest one wins
    targets = [m for m in sent if m["seq"] in (5, 17, 30, 12, 29, 3)]
    random.shuffle(targets)
    states = await asyncio.gather(
        *(
            client.post(
                f"{CONVERSATIONS}/{group}/read", json={"messageId": m["id"]}, headers=ann.auth
            )
            for m in targets
        )
    )
    assert {r.status_code for r in states} == {200}
    assert await _read_to(client, ann, group) == 30
    assert (await shown(client, ann, group))["unreadCount"] == 10

    # sends by everyone (ann included) racing with ann's "read everything" in two
    # conversations: whatever the interleaving, the count is exactly what the rows say
    work: list[Any] = []
    for n in range(30):
        work.append(say(client, [owner, bob, ann][n % 3], group, f"r{n}"))
        work.append(say(client, owner, direct, f"d{n}"))
        if n % 4 == 0:
            work.append(client.post(f"{CONVERSATIONS}/{group}/read", json={}, headers=ann.auth))
            work.append(client.post(f"{CONVERSATIONS}/{direct}/read", headers=ann.auth))
    random.shuffle(work)
    await asyncio.gather(*work)
    # a deleted message no longer counts
    later = await say(client, owner, group, "oops")
    r = await client.delete(f"{CONVERSATIONS}/{group}/messages/{later['id']}", headers=owner.auth)
    assert r.status_code == 204

    total = 0
    for cid in (group, direct):
        rows = await _all_messages(client, ann, cid)
        assert [m["seq"] for m in rows] == list(range(1, len(rows) + 1))
        expected = _expected_unread(rows, ann, await _read_to(client, ann, cid))
        assert (await shown(client, ann, cid))["unreadCount"] == expected
        total += expected
    assert await unread_total(client, ann, organisationId=org) == total
    assert await unread_total(client, ann) == total  # every organisation of hers
    for who in (owner, bob):
        rows = await _all_messages(client, who, group)
        expected = _expected_unread(rows, who, await _read_to(client, who, group))
        assert (await shown(client, who, group))["unreadCount"] == expected

    # reading everything leaves nothing unread, and the list says so per conversation
    for cid in (group, direct):
        r = await client.post(f"{CONVERSATIONS}/{cid}/read", headers=ann.auth)
        assert r.json()["unreadCount"] == 0
    assert await unread_total(client, ann) == 0
    r = await client.get(CONVERSATIONS, params={"organisationId": org}, headers=ann.auth)
    assert [c["unreadCount"] for c in r.json()["items"]] == [0, 0]
    # the list is by last activity: a new message moves its conversation first
    await say(client, bob, group, "latest")
    r = await client.get(CONVERSATIONS, params={"organisationId": org}, headers=ann.auth)
    assert [(c["id"], c["unreadCount"]) for c in r.json()["items"]] == [(group, 1), (direct, 0)]
    r = await client.get(
        CONVERSATIONS, params={"organisationId": org, "limit": 1}, headers=ann.auth
    )
    assert [c["id"] for c in r.json()["items"]] == [group]
    r = await client.get(
        CONVERSATIONS,
        params={"organisationId": org, "limit": 1, "cursor": r.json()["nextCursor"]},
        headers=ann.auth,
    )
    assert ([c["id"] for c in r.json()["items"]], r.json()["nextCursor"]) == ([direct], None)


@pytest.fixture
async def notices_kernel(settings: Settings) -> AsyncIterator[Kernel]:
    """The periodic notice job's service, on this test's event loop (as a worker runs it)."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url)
    assemble(kernel, context_modules())
    try:
        yield kernel
    finally:
        await kernel.close()


async def test_unread_messages_notify_once_per_burst_after_the_delay(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    notices_kernel: Kernel,
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    clock = MovableClock(datetime.now(UTC))
    use_clock(clock, app=app, worker=events, also=[notices_kernel])
    notices: UnreadNotices = notices_kernel.services["conversation_unread_notices"]
    # bob wants no in-app notices about messages: his preference holds for these too
    r = await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"channels": {"messages": {"in_app": False}}},
        headers=bob.auth,
    )
    assert r.status_code == 200, r.text

    direct = (await conversation(client, owner, org, ann))["id"]
    group = (await conversation(client, owner, org, ann, bob, title="Team"))["id"]
    await say(client, owner, direct, "are you there?")
    await say(client, owner, direct, "hello?")
    await say(client, owner, group, "meeting at 3")
    clock.advance(minutes=4)
    # ann reads the group in time; the direct conversation stays unread
    r = await client.post(f"{CONVERSATIONS}/{group}/read", headers=ann.auth)
    assert r.status_code == 200
    clock.advance(minutes=5, seconds=59)
    assert await notices.run() == 0  # not ten minutes yet
    clock.advance(seconds=1)
    assert await notices.run() == 2  # ann for the direct one, bob for the group
    assert await notices.run() == 0  # once per burst
    await events.drain()
    items = await inbox(client, ann)
    # a direct conversation is named after the other person (everyone here is "Alice")
    assert [(i["category"], i["title"]) for i in items] == [
        ("messages", "Unread messages in Alice")
    ]
    assert items[0]["actionUrl"].endswith(f"/conversations/{direct}")
    assert await inbox(client, bob) == []  # turned off
    bob_rows = await deliveries(client, owner, org, userId=bob.user_id)
    assert {(d["channel"], d["status"]) for d in bob_rows} == {
        ("in_app", "skipped"),
        ("email", "skipped"),  # e-mail is off by default for messages
    }

    # more messages while ann still has not read: the same burst, no second notice
    await say(client, owner, direct, "still there?")
    clock.advance(minutes=30)
    assert await notices.run() == 0
    # she reads; a new message left unread starts a new burst
    await client.post(f"{CONVERSATIONS}/{direct}/read", headers=ann.auth)
    await say(client, owner, direct, "thanks!")
    clock.advance(minutes=10)
    assert await notices.run() == 1
    # a deleted message is not unread; her own messages never are (for her)
    await client.post(f"{CONVERSATIONS}/{direct}/read", headers=ann.auth)
    gone = await say(client, owner, direct, "never mind")
    r = await client.delete(f"{CONVERSATIONS}/{direct}/messages/{gone['id']}", headers=owner.auth)
    assert r.status_code == 204
    clock.advance(minutes=10)
    assert await notices.run() == 0
    await say(client, ann, direct, "you're welcome")
    clock.advance(minutes=10)
    assert await notices.run() == 1  # the owner, for ann's reply
    await events.drain()
    assert len(await inbox(client, ann)) == 2
    assert len(await inbox(client, owner)) == 1
