"""Inbox retention: read items go after HUB_NOTIFICATION_READ_RETENTION_DAYS, archived
ones after HUB_NOTIFICATION_ARCHIVED_RETENTION_DAYS (the job run on a moved clock);
unread and snoozed items are never pruned, the unread count does not move, and the
delivery log is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar

from hub.communication.services.retention import InboxRetention
from hub.kernel.clock import MovableClock
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


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        notification_read_retention_days=60, notification_archived_retention_days=20
    )


async def test_only_old_read_and_archived_items_are_pruned(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    settings: Settings,
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    t0 = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    clock = MovableClock(t0)
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=events, also=[kernel])
        retention: InboxRetention = kernel.services["inbox_retention"]
        ids: dict[str, str] = {}
        for title in ("read", "archived", "unread", "read-later", "snoozed", "archived-unread"):
            note = await sent(
                client,
                owner,
                org,
                recipients={"userIds": [ann.user_id]},
                payload={"title": title, "text": ""},
            )
            ids[title] = note["id"]
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
