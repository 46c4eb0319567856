"""Inbox retention: read items go after HUB_NOTIFICATION_READ_RETENTION_DAYS, archived
ones after HUB_NOTIFICATION_ARCHIVED_RETENTION_DAYS (the job run on a moved clock);
unread and snoozed items are never pruned, the unread count does not move, and the
delivery log is kept.

History retention: HUB_NOTIFICATION_HISTORY_DAYS after sending, finished deliveries,
digests and their items go, and a notification once nothing refers to it (an unread
inbox item or a deferred delivery keeps it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar

from hub.communication.services.retention import HistoryRetention, InboxRetention
from hub.kernel.clock import MovableClock
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    deliveries,
    inbox,
    org_with,
    sent,
    unread,
    use_clock,
)
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        notification_read_retention_days=60,
        notification_archived_retention_days=20,
        notification_history_days=100,
    )


T0 = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


async def titled(
    client: Client, owner: Person, org: str, to: Person, *titles: str
) -> dict[str, str]:
    """One notification to ``to`` per title: ``{title: notification id}``."""
    ids: dict[str, str] = {}
    for title in titles:
        note = await sent(
            client,
            owner,
            org,
            recipients={"userIds": [to.user_id]},
            payload={"title": title, "text": ""},
        )
        ids[title] = note["id"]
    return ids


@asynccontextmanager
async def ann_on_a_clock(
    client: Client, app: Litestar, database_url: str, events: InProcessWorker, settings: Settings
) -> AsyncIterator[tuple[Person, str, Person, MovableClock, Kernel]]:
    """An owner, their organisation with Ann in it, and a test clock (at ``T0``) on the
    app, the worker and a kernel whose jobs the test runs."""
    owner, org, people = await org_with(client, database_url, ("ann", None))
    clock = MovableClock(T0)
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=events, also=[kernel])
        yield owner, org, people["ann"], clock, kernel


async def test_only_old_read_and_archived_items_are_pruned(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    settings: Settings,
) -> None:
    t0 = T0
    scene = ann_on_a_clock(client, app, database_url, events, settings)
    async with scene as (owner, org, ann, clock, kernel):
        retention: InboxRetention = kernel.services["inbox_retention"]
        titles = ("read", "archived", "unread", "read-later", "snoozed", "archived-unread")
        ids = await titled(client, owner, org, ann, *titles)
        await events.drain()
        item = {i["title"]: i["id"] for i in await inbox(client, ann)}

        async def mark(title: str, action: str, **body: str) -> None:
            url = f"{NOTIFICATIONS}/{item[title]}/{action}"
            r = await client.post(url, json=body or None, headers=ann.auth)
            assert r.status_code == 200, r.text

        await mark("read", "read")
        await mark("archived", "read")
        await mark("archived", "archive")
        await mark("archived-unread", "archive")
        await mark("snoozed", "snooze", until=(t0 + timedelta(days=400)).isoformat())
        clock.advance(days=50)
        await mark("read-later", "read")
        assert await unread(client, ann) == 1

        clock.set(t0 + timedelta(days=20) - timedelta(seconds=1))
        assert await retention.prune() == 0
        clock.set(t0 + timedelta(days=20, seconds=1))
        assert await retention.prune() == 2  # both archived ones, read or not
        clock.set(t0 + timedelta(days=60, seconds=1))
        assert await retention.prune() == 1  # read 60 days ago
        clock.set(t0 + timedelta(days=365))
        assert await retention.prune() == 1  # read-later, 315 days after it was read
        assert await retention.prune() == 0

        left = {i["title"] for i in await inbox(client, ann, status="unread")}
        left |= {i["title"] for i in await inbox(client, ann, status="snoozed")}
        assert left == {"unread", "snoozed"}
        assert await inbox(client, ann, status="archived") == []
        assert await inbox(client, ann, status="read") == []
        assert await unread(client, ann) == 1
        # the delivery log outlives the inbox
        for note_id in ids.values():
            rows = await deliveries(client, owner, org, notificationId=note_id)
            assert {r["channel"] for r in rows} == {"in_app", "email"}


async def _count(database_url: str, table: str, notification_id: str | None = None) -> int:
    where = "" if notification_id is None else " WHERE notification_id = $1"
    args = [] if notification_id is None else [uuid.UUID(notification_id)]
    query = f"SELECT count(*) AS n FROM communication.{table}{where}"  # noqa: S608 (our names)
    rows = await fetch(database_url, query, *args)
    return int(rows[0]["n"])


async def test_history_goes_after_its_period_once_nothing_refers_to_it(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    settings: Settings,
) -> None:
    t0 = T0
    scene = ann_on_a_clock(client, app, database_url, events, settings)
    async with scene as (owner, org, ann, clock, kernel):
        history: HistoryRetention = kernel.services["history_retention"]
        inbox_retention: InboxRetention = kernel.services["inbox_retention"]
        ids = await titled(client, owner, org, ann, "read", "unread", "deferred")
        await events.drain()
        item = {i["title"]: i["id"] for i in await inbox(client, ann)}
        for title in ("read", "deferred"):
            r = await client.post(f"{NOTIFICATIONS}/{item[title]}/read", headers=ann.auth)
            assert r.status_code == 200, r.text
        # One delivery still waiting (as quiet hours or an escalation leave it).
        await fetch(
            database_url,
            "UPDATE communication.deliveries SET status = 'deferred', deliver_after = $2 "
            "WHERE notification_id = $1 AND channel = 'email'",
            uuid.UUID(ids["deferred"]),
            t0 + timedelta(days=500),
        )
        # A digest that was sent, with its item, and an item whose window is still open.
        digest, sent_item, open_item = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await fetch(
            database_url,
            "INSERT INTO communication.digests (id, user_id, organisation_id, category, "
            "period, window_start, window_end, status, item_count, created_at, updated_at) "
            "VALUES ($1, $2, $3, 'general', 'daily', $4, $4, 'sent', 1, $4, $4)",
            digest,
            uuid.UUID(ann.user_id),
            uuid.UUID(org),
            t0,
        )
        for item_id, digest_id in ((sent_item, digest), (open_item, None)):
            await fetch(
                database_url,
                "INSERT INTO communication.digest_items (id, delivery_id, notification_id, "
                "user_id, organisation_id, category, period, window_start, window_end, "
                "title, created_at, digest_id) VALUES ($1, $2, $3, $4, $5, 'general', "
                "'daily', $6, $6, 'x', $6, $7)",
                item_id,
                uuid.uuid4(),
                uuid.uuid4(),
                uuid.UUID(ann.user_id),
                uuid.UUID(org),
                t0,
                digest_id,
            )
        deliveries_before = await _count(database_url, "deliveries")
        assert deliveries_before == 6  # in-app and e-mail for each

        # HUB_NOTIFICATION_HISTORY_DAYS=0 keeps it all, however old.
        clock.set(t0 + timedelta(days=1000))
        assert await HistoryRetention(history.store, clock, days=0).prune() == {}
        assert await _count(database_url, "deliveries") == deliveries_before
        clock.set(t0 + timedelta(days=100) - timedelta(seconds=1))
        assert await history.prune() == {
            "deliveries": 0,
            "digest_items": 0,
            "digests": 0,
            "notifications": 0,
        }
        clock.set(t0 + timedelta(days=100, seconds=1))
        assert await inbox_retention.prune() == 2  # the two read items
        assert await history.prune() == {
            "deliveries": 5,  # all but the deferred one
            "digest_items": 1,  # the open window's item stays
            "digests": 1,
            "notifications": 1,  # "read": no inbox item, no delivery left
        }
        assert await history.prune() == {
            "deliveries": 0,
            "digest_items": 0,
            "digests": 0,
            "notifications": 0,
        }

    assert await _count(database_url, "notifications") == 2
    assert await _count(database_url, "deliveries", ids["deferred"]) == 1
    assert await _count(database_url, "inbox_items", ids["unread"]) == 1
    assert await deliveries(client, owner, org, notificationId=ids["read"]) == []
    # The unread item is still in Ann's inbox, whole.
    assert [i["title"] for i in await inbox(client, ann)] == ["unread"]
    left = await fetch(database_url, "SELECT id FROM communication.digest_items")
    assert [r["id"] for r in left] == [open_item]
