"""Server-sent events against a real uvicorn server: a single-use ticket, then what the
worker's fan-out and the inbox marks publish through Redis reaches the open stream, with
the unread count; a reconnect with ``Last-Event-ID`` gets what it missed; heartbeats; a
revoked session's stream ends."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import cast

import httpx
import pytest
from litestar import Litestar
from redis.asyncio import Redis

from hub.app import context_modules
from hub.communication.services.snoozes import SnoozeEnd
from hub.communication.services.stream_buffer import MAX_EVENTS, StreamBuffer, id_key
from hub.kernel.clock import MovableClock
from hub.kernel.runtime import Kernel
from hub.kernel.schema import new_id
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.integration.communication.sse import Reader
from tests.integration.communication.support import NOTIFICATIONS, org_with, sent, use_clock
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person, api_key
from tests.support import LiveServer

STREAM = f"{API}/stream"


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    # a heartbeat every 0.3 s of silence: a ping is seen without waiting 15 s
    return base_settings.replace(stream_heartbeat_s=0.3)


async def _ticket(client: httpx.AsyncClient, who: Person) -> str:
    r = await client.post(f"{STREAM}/ticket", headers=who.auth)
    assert r.status_code == 201, r.text
    assert r.json()["expiresAt"]
    ticket: str = r.json()["ticket"]
    return ticket


async def _notify(
    client: httpx.AsyncClient, events: InProcessWorker, owner: Person, org: str, who: Person
) -> str:
    note = await sent(client, owner, org, recipients={"userIds": [who.user_id]})
    await events.drain()
    note_id: str = note["id"]
    return note_id


async def test_a_notification_reaches_the_open_stream(
    live_client: httpx.AsyncClient, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    ticket = await _ticket(live_client, ann)

    async with live_client.stream("GET", STREAM, params={"ticket": ticket}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        reader = Reader(stream)
        ready = await reader.until("ready")
        assert ready.data == {"unreadCount": 0}
        assert ready.id
        note = await _notify(live_client, events, owner, org, ann)
        created = await reader.until("notification.created")
    item = created.data["item"]
    assert created.data["unreadCount"] == 1
    assert (item["notificationId"], item["title"], item["body"]) == (note, "Hello", "World")
    assert (item["readAt"], item["organisationId"]) == (None, org)
    assert created.id
    assert created.id > ready.id

    # the ticket was spent by that connection; a made-up one is no better
    for spent in (ticket, "x" * 43):
        r = await live_client.get(STREAM, params={"ticket": spent})
        assert (r.status_code, r.json()["code"]) == (401, "invalid_stream_ticket")
    key = await api_key(live_client, ann, ["content.documents.read"])
    r = await live_client.post(f"{STREAM}/ticket", headers={"X-API-Key": key["key"]})
    assert (r.status_code, r.json()["code"]) == (403, "session_required")
    assert (await live_client.post(f"{STREAM}/ticket")).status_code == 401


async def test_every_inbox_change_pushes_the_item_and_the_unread_count(
    live_client: httpx.AsyncClient, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    for _ in range(2):
        await _notify(live_client, events, owner, org, ann)
    items = (await live_client.get(NOTIFICATIONS, headers=ann.auth)).json()["items"]
    first, second = (item["id"] for item in items)
    async with live_client.stream(
        "GET", STREAM, params={"ticket": await _ticket(live_client, ann)}
    ) as stream:
        reader = Reader(stream)
        assert (await reader.until("ready")).data == {"unreadCount": 2}
        later: tuple[tuple[str, str, dict[str, str], int], ...] = (
            ("read", first, {}, 1),
            ("unread", first, {}, 2),
            ("archive", first, {}, 1),
            ("unarchive", first, {}, 2),
            ("snooze", second, {"until": "2999-01-01T00:00:00Z"}, 1),
            ("read", second, {}, 1),
            ("unread", second, {}, 2),
        )
        for action, item_id, body, count in later:
            r = await live_client.post(
                f"{NOTIFICATIONS}/{item_id}/{action}", json=body, headers=ann.auth
            )
            assert r.status_code == 200, r.text
            updated = await reader.until("notification.updated")
            assert updated.data["item"]["id"] == item_id, action
            assert updated.data["unreadCount"] == count, action
        assert updated.data["item"] == {**r.json(), "snoozedUntil": None}

        r = await live_client.post(f"{NOTIFICATIONS}/read-all", headers=ann.auth)
        assert r.json() == {"updated": 2}
        total = await reader.until("unread.count")
        assert (total.data["unreadCount"], total.data["cause"]) == (0, "read_all")
        await _notify(live_client, events, owner, org, ann)
        assert (await reader.until("notification.created")).data["unreadCount"] == 1


async def test_the_last_count_on_the_stream_is_exact_after_concurrent_changes(
    live_client: httpx.AsyncClient, database_url: str, events: InProcessWorker
) -> None:
    """40 marks on 5 items racing each other and an arrival: the stream's last
    ``unreadCount`` is the count, whatever order the publishers reached Redis in."""
    owner, org, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    for _ in range(5):
        await _notify(live_client, events, owner, org, ann)
    items = [
        i["id"] for i in (await live_client.get(NOTIFICATIONS, headers=ann.auth)).json()["items"]
    ]
    actions = ("read", "unread", "archive", "unarchive")
    marks = [(items[n % 5], actions[(n * 7 + n // 5) % 4]) for n in range(40)]

    async def mark(item_id: str, action: str) -> None:
        r = await live_client.post(f"{NOTIFICATIONS}/{item_id}/{action}", headers=ann.auth)
        assert r.status_code == 200, r.text

    async with live_client.stream(
        "GET", STREAM, params={"ticket": await _ticket(live_client, ann)}
    ) as stream:
        reader = Reader(stream)
        await reader.until("ready")
        await asyncio.gather(
            *(mark(item_id, action) for item_id, action in marks),
            _notify(live_client, events, owner, org, ann),
        )
        received = await reader.events(len(marks) + 1)
    assert sorted(e.event or "" for e in received).count("notification.created") == 1
    r = await live_client.get(f"{NOTIFICATIONS}/unread-count", headers=ann.auth)
    assert received[-1].data["unreadCount"] == r.json()["count"]
    assert [e.id for e in received] == sorted((e.id for e in received), key=id_key)


async def test_a_reconnect_with_last_event_id_gets_what_it_missed_once(
    live_client: httpx.AsyncClient, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    async with live_client.stream(
        "GET", STREAM, params={"ticket": await _ticket(live_client, ann)}
    ) as stream:
        reader = Reader(stream)
        await reader.until("ready")
        await _notify(live_client, events, owner, org, ann)
        seen = await reader.until("notification.created")
    count = 1
    for how in ("header", "query"):
        # disconnected: two more arrive
        missed = [await _notify(live_client, events, owner, org, ann) for _ in range(2)]
        params = {"ticket": await _ticket(live_client, ann)}
        headers = {}
        if how == "header":
            headers["Last-Event-ID"] = str(seen.id)
        else:
            params["lastEventId"] = str(seen.id)
        async with live_client.stream("GET", STREAM, params=params, headers=headers) as stream:
            reader = Reader(stream)
            replayed = await reader.events(3)
            assert [e.event for e in replayed] == [
                "notification.created",
                "notification.created",
                "ready",
            ], how
            assert [e.data["item"]["notificationId"] for e in replayed[:2]] == missed
            assert [e.data["unreadCount"] for e in replayed] == [count + 1, count + 2, count + 2]
            assert replayed[2].id == replayed[1].id  # the position: nothing after it was sent
            live = await _notify(live_client, events, owner, org, ann)
            after = await reader.until("notification.created")
            assert after.data["item"]["notificationId"] == live
            assert after.data["unreadCount"] == count + 3
        seen, count = after, count + 3

    # an id from before what is kept: the client is told to refetch
    headers = {"Last-Event-ID": "1-0"}
    params = {"ticket": await _ticket(live_client, ann)}
    async with live_client.stream("GET", STREAM, params=params, headers=headers) as stream:
        reader = Reader(stream)
        reset, ready = await reader.events(2)
        assert (reset.event, reset.data, reset.id) == ("reset", {"reason": "events_expired"}, None)
        assert (ready.event, ready.data) == ("ready", {"unreadCount": count})
    # an id the server cannot have issued: likewise
    params = {"ticket": await _ticket(live_client, ann), "lastEventId": "yesterday"}
    async with live_client.stream("GET", STREAM, params=params) as stream:
        reset, ready = await Reader(stream).events(2)
        assert (reset.event, ready.event) == ("reset", "ready")


async def test_idle_streams_get_heartbeats(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    _, _, people = await org_with(live_client, database_url, ("ann", None))
    ticket = await _ticket(live_client, people["ann"])
    async with live_client.stream("GET", STREAM, params={"ticket": ticket}) as stream:
        reader = Reader(stream)
        await reader.until("ready")
        ping = await reader.next(comments=True)
    assert ping is not None
    assert ping.comment == "ping"


async def test_a_revoked_sessions_stream_ends(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    _, _, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    ticket = await _ticket(live_client, ann)
    async with live_client.stream("GET", STREAM, params={"ticket": ticket}) as stream:
        reader = Reader(stream)
        await reader.until("ready")
        r = await live_client.post(f"{API}/auth/logout", headers=ann.auth)
        assert r.status_code in (200, 204), r.text

        async def rest() -> list[str | None]:
            seen = []
            while (item := await reader.next(comments=True)) is not None:
                seen.append(item.event or item.comment)
            return seen

        # the stream ends (at most the heartbeats sent before the revocation came)
        assert set(await asyncio.wait_for(rest(), 10)) <= {"ping"}


async def test_a_ticket_is_refused_once_its_session_is_revoked(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    _, _, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    ticket = await _ticket(live_client, ann)
    assert (await live_client.post(f"{API}/auth/logout", headers=ann.auth)).status_code < 300
    r = await live_client.get(STREAM, params={"ticket": ticket})
    assert (r.status_code, r.json()["code"]) == (401, "invalid_stream_ticket")


async def test_a_ticket_expires_after_a_minute(
    live_server: LiveServer, live_client: httpx.AsyncClient, database_url: str
) -> None:
    _, _, people = await org_with(live_client, database_url, ("ann", None))
    clock = MovableClock()
    app = cast(Litestar, live_server.server.config.app)
    use_clock(clock, app=app, worker=None)
    late, in_time = [await _ticket(live_client, people["ann"]) for _ in range(2)]
    clock.advance(seconds=59)
    async with live_client.stream("GET", STREAM, params={"ticket": in_time}) as stream:
        assert stream.status_code == 200
    clock.advance(seconds=2)
    r = await live_client.get(STREAM, params={"ticket": late})
    assert (r.status_code, r.json()["code"]) == (401, "invalid_stream_ticket")


async def test_the_end_of_a_snooze_is_pushed_with_the_count(
    live_server: LiveServer,
    live_client: httpx.AsyncClient,
    database_url: str,
    events: InProcessWorker,
    settings: Settings,
) -> None:
    owner, org, people = await org_with(live_client, database_url, ("ann", None))
    ann = people["ann"]
    await _notify(live_client, events, owner, org, ann)
    (item,) = (await live_client.get(NOTIFICATIONS, headers=ann.auth)).json()["items"]
    clock = MovableClock()
    assert settings.database_url is not None
    assert settings.redis_url is not None
    # the periodic job's service, on this test's event loop (as a worker runs it)
    kernel = Kernel(settings, settings.database_url, settings.redis_url, clock=clock)
    assemble(kernel, context_modules())
    use_clock(
        clock, app=cast(Litestar, live_server.server.config.app), worker=events, also=[kernel]
    )
    job: SnoozeEnd = kernel.services["snooze_end"]
    try:
        async with live_client.stream(
            "GET", STREAM, params={"ticket": await _ticket(live_client, ann)}
        ) as stream:
            reader = Reader(stream)
            await reader.until("ready")
            until = (clock() + timedelta(minutes=10)).isoformat()
            r = await live_client.post(
                f"{NOTIFICATIONS}/{item['id']}/snooze", json={"until": until}, headers=ann.auth
            )
            assert r.status_code == 200, r.text
            assert (await reader.until("notification.updated")).data["unreadCount"] == 0
            clock.advance(minutes=9, seconds=59)
            assert await job.release_due() == 0
            clock.advance(seconds=1)
            assert await job.release_due() == 1
            ended = await reader.until("notification.updated")
            assert ended.data["unreadCount"] == 1
            assert (ended.data["item"]["id"], ended.data["item"]["snoozedUntil"]) == (
                item["id"],
                None,
            )
            assert await job.release_due() == 0
    finally:
        await kernel.close()


async def test_the_last_count_wins_whatever_order_publishers_arrive_in(
    redis_url: str, clean_state: None
) -> None:
    """Two publishers race: the one that counted later (the higher ticket) reaches Redis
    first; the older count it would otherwise end on is replaced by the newer one."""
    redis = Redis.from_url(redis_url)
    try:
        buffer = StreamBuffer(redis, replay_s=60)
        user = new_id()
        start = (await buffer.resume(user, None)).position
        older, newer = await buffer.ticket(), await buffer.ticket()
        await buffer.append(newer, [(user, "notification.updated", 4, '{"item":{"n":2}}')])
        await buffer.append(older, [(user, "notification.created", 5, '{"item":{"n":1}}')])
        replay = (await buffer.resume(user, start)).backlog
        assert [(e.event, e.unread_count) for e in replay] == [
            ("notification.updated", 4),
            ("notification.created", 4),
        ]
        assert replay[1].data() == '{"unreadCount":4,"item":{"n":1}}'
        # a key that expired (or never was) with an old id: reset; with a recent one: nothing
        other = new_id()
        assert (await buffer.resume(other, "1-0")).status == "reset"
        fresh = await buffer.resume(other, None)
        assert fresh.status == "fresh"
        assert (await buffer.resume(other, fresh.position)).status == "ok"
    finally:
        await redis.aclose()


async def test_a_reconnect_past_the_kept_events_is_told_to_reset(
    redis_url: str, clean_state: None
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        buffer = StreamBuffer(redis, replay_s=60)
        user = new_id()
        start = (await buffer.resume(user, None)).position
        burst = [(user, "notification.created", n, "{}") for n in range(MAX_EVENTS * 2)]
        await buffer.append(await buffer.ticket(), burst)
        kept = (await buffer.resume(user, start)).status
        assert kept == "reset"  # the oldest were trimmed: some of what followed is gone
        latest = (await buffer.resume(user, None)).position
        near = await buffer.resume(user, latest)
        assert (near.status, near.backlog) == ("ok", [])
        await buffer.append(await buffer.ticket(), [(user, "unread.count", 0, "{}")])
        (one,) = (await buffer.resume(user, latest)).backlog
        assert (one.event, one.data()) == ("unread.count", '{"unreadCount":0}')
    finally:
        await redis.aclose()
