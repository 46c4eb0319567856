"""Digests: a category's e-mail batched per hourly or daily window into one message, to a
real SMTP receiver (aiosmtpd). The closing job runs twice and concurrently and still makes
one digest per window; items sent in the second a window ends go to exactly one digest;
two categories are never merged; a late item joins the next window; quiet hours defer a
digest and critical notifications bypass digests."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from litestar import Litestar
from sqlalchemy import select

from hub.communication import repositories
from hub.communication.services.digests import DigestClosing
from hub.kernel.clock import MovableClock
from hub.kernel.deadletter import list_dead
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    deliveries,
    org_with,
    sent,
    statuses,
    use_clock,
)
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support_orgs import join
from tests.integration.kernel.test_mail import Inbox

T0 = datetime(2027, 3, 1, 9, 59, 59, 500_000, tzinfo=UTC)
TEN = datetime(2027, 3, 1, 10, 0, 0, tzinfo=UTC)


def _digests(smtp: Inbox, to: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if m["To"] == to and "new:" in str(m["Subject"])]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


async def _prefs(client: Client, who: Any, **body: Any) -> dict[str, Any]:
    r = await client.put(f"{NOTIFICATIONS}/preferences", json=body, headers=who.auth)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_a_window_makes_exactly_one_digest_and_categories_are_never_merged(
    client: Client,
    app: Litestar,
    database_url: str,
    settings: Settings,
    smtp_worker: tuple[InProcessWorker, Inbox],
) -> None:
    worker, smtp = smtp_worker
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    await worker.drain(within=20)
    clock = MovableClock(T0)
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=worker, also=[kernel])
        closing: DigestClosing = kernel.services["digest_closing"]
        prefs = await _prefs(client, ann, digests={"general": "hourly", "documents": "hourly"})
        assert prefs["digests"] == {"general": "hourly", "documents": "hourly"}
        to_ann: dict[str, Any] = {"userIds": [ann.user_id]}

        def note(title: str) -> dict[str, Any]:
            return {"title": title, "text": f"about {title}"}

        a = await sent(client, owner, org, recipients=to_ann, payload=note("A 09:59:59.5"))
        clock.set(TEN)  # the very instant the 09:00 window ends
        b = await sent(client, owner, org, recipients=to_ann, payload=note("B 10:00:00"))
        c = await sent(
            client, owner, org, recipients=to_ann, payload=note("C docs"), category="documents"
        )
        clock.advance(seconds=0.5)
        d = await sent(client, owner, org, recipients=to_ann, payload=note("D 10:00:00.5"))
        await worker.drain(within=20)
        for n in (a, b, c, d):
            got = statuses(await deliveries(client, owner, org, notificationId=n["id"]))
            assert got == {(ann.user_id, "in_app"): "sent", (ann.user_id, "email"): "digested"}
        assert _digests(smtp, ann.email) == []

        # the 09:00 window is over: two closers at once, then a re-run, make one digest
        made = await asyncio.gather(closing.close_due(), closing.close_due())
        assert sorted(made) == [0, 1]
        assert await closing.close_due() == 0
        await worker.drain(within=20)
        (first,) = _digests(smtp, ann.email)
        assert first["Subject"] == "1 new: Announcements from your organisation"
        assert "A 09:59:59.5" in _text(first)
        assert "B 10:00:00" not in _text(first)
        (email_a,) = await deliveries(client, owner, org, notificationId=a["id"], channel="email")
        assert email_a["status"] == "digested"
        assert email_a["provider"].startswith("127.0.0.1:")  # the SMTP provider that took it
        assert email_a["sentAt"] is not None

        clock.advance(minutes=59, seconds=59)  # 10:59:59.5: the 10:00 window is still open
        assert await closing.close_due() == 0
        clock.advance(seconds=0.5)
        three = await asyncio.gather(closing.close_due(), closing.close_due(), closing.close_due())
        assert sum(three) == 2  # general and documents, never one for both
        assert await closing.close_due() == 0
        await worker.drain(within=20)
        mails = _digests(smtp, ann.email)
        assert len(mails) == 3
        general = [m for m in mails[1:] if "Announcements" in str(m["Subject"])]
        documents = [m for m in mails[1:] if "Documents" in str(m["Subject"])]
        assert len(general) == len(documents) == 1
        assert general[0]["Subject"] == "2 new: Announcements from your organisation"
        text = _text(general[0])
        assert text.index("B 10:00:00") < text.index("D 10:00:00.5")  # oldest first
        assert "C docs" not in text
        assert "A 09:59:59.5" not in text
        assert "C docs" in _text(documents[0])
        assert "B 10:00:00" not in _text(documents[0])
        # every item went out exactly once across all digests
        every = "".join(_text(m) for m in mails)
        for title in ("A 09:59:59.5", "B 10:00:00", "C docs", "D 10:00:00.5"):
            assert every.count(f"- {title}") == 1


async def test_an_item_arriving_after_its_window_closed_goes_into_the_next_digest(
    client: Client,
    app: Litestar,
    database_url: str,
    settings: Settings,
    smtp_worker: tuple[InProcessWorker, Inbox],
) -> None:
    worker, smtp = smtp_worker
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    await worker.drain(within=20)
    clock = MovableClock(TEN)
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=worker, also=[kernel])
        closing: DigestClosing = kernel.services["digest_closing"]
        await _prefs(client, ann, digests={"general": "hourly"})
        to_ann: dict[str, Any] = {"userIds": [ann.user_id]}
        await sent(client, owner, org, recipients=to_ann, payload={"title": "on time", "text": ""})
        await worker.drain(within=20)
        clock.set(datetime(2027, 3, 1, 11, 0, 1, tzinfo=UTC))
        assert await closing.close_due() == 1
        await worker.drain(within=20)
        # A notification of 10:59:59 whose fan-out only runs now, after its window's
        # digest went out (a fan-out job that waited in the queue).
        clock.set(datetime(2027, 3, 1, 10, 59, 59, tzinfo=UTC))
        late = await sent(
            client, owner, org, recipients=to_ann, payload={"title": "late", "text": ""}
        )
        clock.set(datetime(2027, 3, 1, 11, 0, 2, tzinfo=UTC))
        await worker.drain(within=20)
        assert await closing.close_due() == 0  # its window has a digest: moved on, not lost
        await worker.drain(within=20)
        assert len(_digests(smtp, ann.email)) == 1
        clock.set(datetime(2027, 3, 1, 12, 0, 0, tzinfo=UTC))
        assert await closing.close_due() == 1
        await worker.drain(within=20)
        first, second = _digests(smtp, ann.email)
        assert "on time" in _text(first)
        assert "late" not in _text(first)
        assert "late" in _text(second)
        assert "on time" not in _text(second)
        (row,) = await deliveries(client, owner, org, notificationId=late["id"], channel="email")
        assert row["status"] == "digested"
        assert row["sentAt"] is not None


async def test_hourly_and_daily_windows_quiet_hours_and_critical(
    client: Client,
    app: Litestar,
    database_url: str,
    settings: Settings,
    smtp_worker: tuple[InProcessWorker, Inbox],
) -> None:
    worker, smtp = smtp_worker
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    await worker.drain(within=20)  # the sign-up and invitation mail
    smtp.messages.clear()
    clock = MovableClock(datetime(2027, 3, 1, 10, 15, tzinfo=UTC))  # 11:15 in Berlin
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=worker, also=[kernel])
        closing: DigestClosing = kernel.services["digest_closing"]
        await _prefs(client, ann, digests={"general": "hourly"})
        # Bob: a daily digest of Berlin days, and quiet from 22:00 to 07:00 there
        await _prefs(
            client,
            bob,
            digests={"general": "daily"},
            timeZone="Europe/Berlin",
            quietHours={"start": "22:00", "end": "07:00"},
        )
        both: dict[str, Any] = {"userIds": [ann.user_id, bob.user_id]}
        await sent(client, owner, org, recipients=both, payload={"title": "news", "text": "x"})
        urgent = await sent(
            client,
            owner,
            org,
            recipients=both,
            payload={"title": "fire", "text": "leave"},
            priority="critical",
        )
        await worker.drain(within=20)
        got = statuses(await deliveries(client, owner, org, notificationId=urgent["id"]))
        assert got[(ann.user_id, "email")] == got[(bob.user_id, "email")] == "sent"
        assert {m["Subject"] for m in smtp.messages if m["To"] in (ann.email, bob.email)} == {
            "fire"
        }

        clock.set(datetime(2027, 3, 1, 11, 0, tzinfo=UTC))
        assert await closing.close_due() == 1  # Ann's hour; Bob's day goes on
        await worker.drain(within=20)
        assert len(_digests(smtp, ann.email)) == 1
        assert _digests(smtp, bob.email) == []
        assert "Your hourly digest" in _text(_digests(smtp, ann.email)[0])

        clock.set(datetime(2027, 3, 1, 22, 59, 59, tzinfo=UTC))  # 23:59:59 in Berlin
        assert await closing.close_due() == 0
        clock.set(datetime(2027, 3, 1, 23, 0, tzinfo=UTC))  # midnight in Berlin: day over
        assert await closing.close_due() == 1
        await worker.drain(within=20)
        assert _digests(smtp, bob.email) == []  # quiet hours: deferred, not dropped
        clock.set(datetime(2027, 3, 2, 5, 59, tzinfo=UTC))
        assert await closing.close_due() == 0
        await worker.drain(within=20)
        assert _digests(smtp, bob.email) == []
        clock.set(datetime(2027, 3, 2, 6, 0, tzinfo=UTC))  # 07:00 in Berlin
        await closing.close_due()
        await worker.drain(within=20)
        (daily,) = _digests(smtp, bob.email)
        assert "Your daily digest" in _text(daily)
        assert "news" in _text(daily)
        await closing.close_due()
        await worker.drain(within=20)
        assert len(_digests(smtp, bob.email)) == 1


async def test_digest_preferences_organisation_default_and_user_override(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    url = f"{NOTIFICATIONS}/defaults"
    r = await client.put(
        url,
        params={"organisationId": org},
        json={"digests": {"general": "daily"}},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["digests"] == {"general": "daily"}
    assert (await _prefs(client, bob, digests={"general": "off"}))["digests"] == {"general": "off"}
    note = await sent(client, owner, org, recipients={"userIds": [ann.user_id, bob.user_id]})
    await events.drain()
    got = statuses(await deliveries(client, owner, org, notificationId=note["id"]))
    assert got[(ann.user_id, "email")] == "digested"  # the organisation's default
    assert got[(bob.user_id, "email")] == "sent"  # his override
    (row,) = await deliveries(client, owner, org, status="digested")
    assert row["reason"] == "daily digest"

    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"digests": {"nope": "hourly"}}, 422, "digests.nope"),
        ({"digests": {"general": "weekly"}}, 400, ""),
    ]
    for body, status, field in cases:
        r = await client.put(f"{NOTIFICATIONS}/preferences", json=body, headers=ann.auth)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == field
        r = await client.put(url, params={"organisationId": org}, json=body, headers=owner.auth)
        assert r.status_code == status, (body, r.text)
    r = await client.get(f"{NOTIFICATIONS}/preferences", headers=ann.auth)
    assert r.json()["digests"] == {}


async def test_fan_outs_racing_the_closers_at_the_boundary_lose_and_double_nothing(
    client: Client, app: Litestar, database_url: str, settings: Settings, clean_state: None
) -> None:
    """Fan-out jobs of notifications sent in the last second of a window and the first
    of the next run in rounds, each beside two closers of that window: every item ends in
    exactly one digest, and each window has exactly one."""
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    clock = MovableClock(datetime(2027, 3, 1, 10, 59, 59, tzinfo=UTC))
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=None, also=[kernel])
        closing: DigestClosing = kernel.services["digest_closing"]
        fan_out = kernel.services["notification_fan_out"]
        await _prefs(client, ann, digests={"general": "hourly"})
        ids: list[str] = []
        for i in range(30):  # no worker: the test runs the fan-outs itself
            clock.set(datetime(2027, 3, 1, 10, 59, 59, 970_000 + i * 1000, tzinfo=UTC))
            if i >= 15:
                clock.set(datetime(2027, 3, 1, 11, 0, 0, (i - 15) * 1000, tzinfo=UTC))
            note = await sent(
                client,
                owner,
                org,
                recipients={"userIds": [ann.user_id]},
                payload={"title": f"n{i}", "text": ""},
            )
            ids.append(note["id"])
        clock.set(datetime(2027, 3, 1, 11, 0, 0, 500_000, tzinfo=UTC))
        for k in range(0, 30, 3):  # rounds: three fan-outs and two closers at once
            jobs: list[Any] = [fan_out.run(uuid.UUID(n), 0, 1) for n in ids[k : k + 3]]
            await asyncio.gather(*jobs[:2], closing.close_due(), jobs[2], closing.close_due())
        await closing.close_due()  # items that came after the 10:00 digest move on
        clock.set(datetime(2027, 3, 1, 12, 0, 0, tzinfo=UTC))
        await asyncio.gather(closing.close_due(), closing.close_due())
        clock.set(datetime(2027, 3, 1, 13, 0, 0, tzinfo=UTC))
        await closing.close_due()

        items_t, digests_t = repositories.digest_items_t, repositories.digests_t
        items = await closing.store.all(select(items_t))
        digests = await closing.store.all(select(digests_t))
        assert len(items) == 30
        assert all(item.digest_id is not None for item in items)
        by_digest = Counter(item.digest_id for item in items)
        assert {d.id: d.item_count for d in digests} == dict(by_digest)
        starts = [d.window_start for d in digests]
        assert len(starts) == len(set(starts))  # one digest per window
        # an item is in its own window's digest (a late one in a later window's), never
        # in an earlier window's: nothing sent at 11:00:00 is in the 10:00 digest
        windows = {d.id: d.window_start for d in digests}
        for item in items:
            sent_hour = item.created_at.replace(minute=0, second=0, microsecond=0)
            assert windows[item.digest_id] == item.window_start
            assert item.window_start >= sent_hour
        assert sum(1 for item in items if item.created_at.hour == 10) == 15
        # the rounds did race: 10:00 items committed after that window's digest was made
        # met its unique key and went into the 11:00 digest instead
        moved = [i for i in items if i.created_at.hour == 10 and i.window_start.hour == 11]
        assert moved
        deliveries_out = await deliveries(client, owner, org, channel="email")
        assert len(deliveries_out) == 30
        assert {r["status"] for r in deliveries_out} == {"digested"}


async def test_a_refused_digest_is_failed_once_and_dead_lettered(
    client: Client,
    app: Litestar,
    database_url: str,
    settings: Settings,
    smtp_worker: tuple[InProcessWorker, Inbox],
) -> None:
    worker, _smtp = smtp_worker
    owner, org, _ = await org_with(client, database_url)
    gone = await join(client, database_url, org, owner, "gone@refused.example")
    await worker.drain(within=20)
    clock = MovableClock(TEN)
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=worker, also=[kernel])
        closing: DigestClosing = kernel.services["digest_closing"]
        await _prefs(client, gone, digests={"general": "hourly"})
        await sent(client, owner, org, recipients={"userIds": [gone.user_id]})
        await worker.drain(within=20)
        clock.advance(hours=1)
        assert await closing.close_due() == 1
        await worker.drain(within=20)
        (digest,) = await closing.store.all(select(repositories.digests_t))
        assert (digest.status, digest.attempts) == ("failed", 1)  # 5xx: no retry
        assert "550" in digest.last_error
        broker = worker.background.broker
        dead = [
            d
            for d in list_dead(broker.client, broker.namespace)
            if d.actor == "communication.send_digest"
        ]
        assert len(dead) == 1
        assert await closing.close_due() == 0


async def test_a_run_that_hits_its_limit_leaves_the_last_key_whole(
    client: Client, app: Litestar, database_url: str, settings: Settings, clean_state: None
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    clock = MovableClock(TEN)
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=None, also=[kernel])
        closing: DigestClosing = kernel.services["digest_closing"]
        fan_out = kernel.services["notification_fan_out"]
        await _prefs(client, ann, digests={"general": "hourly", "documents": "hourly"})
        for category in ("general", "general", "documents", "documents"):
            note = await sent(
                client, owner, org, recipients={"userIds": [ann.user_id]}, category=category
            )
            await fan_out.run(uuid.UUID(note["id"]), 0, 1)
        clock.advance(hours=1)
        assert await closing.close_due(limit=3) == 1  # one key whole, the other not split
        assert await closing.close_due(limit=3) == 1
        digests = await closing.store.all(select(repositories.digests_t))
        assert sorted((d.category, d.item_count) for d in digests) == [
            ("documents", 2),
            ("general", 2),
        ]
