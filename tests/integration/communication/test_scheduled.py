"""Scheduled notifications on a moved clock: ``sendAt`` keeps a notification waiting
(listed, cancellable, nothing delivered), the minute job sends it once when due to the
recipients still members, and bad times are refused and store nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    inbox,
    org_with,
    send,
    sent,
)
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import create_org, person

SCHEDULED = f"{NOTIFICATIONS}/scheduled"


async def outbox(database_url: str, event_type: str) -> list[dict[str, Any]]:
    rows = await fetch(
        database_url,
        "SELECT payload FROM communication.outbox WHERE event_type = $1 ORDER BY position",
        event_type,
    )
    return [json.loads(r["payload"]) for r in rows]


async def test_a_scheduled_notification_waits_then_goes_out_once_to_members(
    client: Client,
    app: Litestar,
    database_url: str,
    settings: Settings,
    events: InProcessWorker,
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    app.state.kernel.clock = clock
    at = clock() + timedelta(hours=2)

    first = await sent(client, owner, org, sendAt=at.isoformat())
    assert (first["recipientCount"], first["sendAt"]) == (3, at.isoformat().replace("+00:00", "Z"))
    later = await sent(
        client,
        owner,
        org,
        sendAt=(at + timedelta(hours=1)).isoformat(),
        recipients={"userIds": [ann.user_id]},
        payload={"title": "Later", "text": "Called off"},
    )
    r = await client.get(SCHEDULED, params={"organisationId": org}, headers=owner.auth)
    assert r.status_code == 200, r.text
    listed = r.json()["items"]
    assert [(i["id"], i["recipientCount"]) for i in listed] == [
        (first["id"], 3),
        (later["id"], 1),
    ]
    await events.drain()
    assert await inbox(client, ann) == []  # nothing went out yet

    # Bob leaves before it goes out: he is not told.
    r = await client.delete(f"{API}/orgs/{org}/members/{bob.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text
    async with periodic_kernel(settings, clock) as kernel:
        release = kernel.services["notifications"].release_due
        clock.advance(hours=2, seconds=-1)
        assert await release() == 0
        clock.advance(seconds=1)
        assert await release() == 1
        assert await release() == 0  # once
    await events.drain()
    (item,) = await inbox(client, ann)
    assert (item["title"], item["createdAt"]) == ("Hello", at.isoformat().replace("+00:00", "Z"))
    assert len(await inbox(client, owner)) == 1
    assert await inbox(client, bob) == []
    (requested,) = await outbox(database_url, "communication.notification.requested")
    assert (requested["notificationId"], requested["recipientCount"]) == (first["id"], 2)

    # The other one is called off, once; a sent one cannot be.
    r = await client.delete(f"{SCHEDULED}/{later['id']}", headers=owner.auth)
    assert r.status_code == 204, r.text
    for gone in (later["id"], first["id"]):
        r = await client.delete(f"{SCHEDULED}/{gone}", headers=owner.auth)
        assert (r.status_code, r.json()["code"]) == (409, "not_scheduled")
    r = await client.get(SCHEDULED, params={"organisationId": org}, headers=owner.auth)
    assert r.json()["items"] == []
    async with periodic_kernel(settings, clock) as kernel:
        clock.advance(hours=2)
        assert await kernel.services["notifications"].release_due() == 0
    await events.drain()
    assert [i["title"] for i in await inbox(client, ann)] == ["Hello"]
    assert len(await outbox(database_url, "communication.notification.scheduled")) == 2
    (cancelled,) = await outbox(database_url, "communication.notification.cancelled")
    assert cancelled["notificationId"] == later["id"]


async def test_bad_times_and_callers_are_refused_and_change_nothing(
    client: Client, app: Litestar, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    clock = MovableClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    app.state.kernel.clock = clock
    for when, status in (
        ("2027-01-04T09:00:00Z", 422),  # now is not the future
        ("2027-01-04T08:59:59Z", 422),
        ("2028-01-06T09:00:01Z", 422),  # more than 366 days ahead
        ("2027-01-04T10:00:00", 400),  # no time zone
        ("tomorrow", 400),
        ("2027-01-04T10:00:00\u00a0Z", 400),
    ):
        r = await send(client, owner, org, sendAt=when)
        assert r.status_code == status, (when, r.text)
        if status == 422:
            assert r.json()["errors"][0]["field"] == "sendAt"
    assert await fetch(database_url, "SELECT id FROM communication.notifications") == []

    waiting = await sent(client, owner, org, sendAt="2027-01-05T09:00:00+01:00")
    assert waiting["sendAt"] == "2027-01-05T08:00:00Z"
    # A member without communication.notifications.send neither lists nor cancels.
    r = await client.get(SCHEDULED, params={"organisationId": org}, headers=ann.auth)
    assert r.status_code == 403
    r = await client.delete(f"{SCHEDULED}/{waiting['id']}", headers=ann.auth)
    assert r.status_code == 403
    # Someone of another organisation learns nothing.
    stranger = await person(client, database_url, "stranger@example.com")
    await create_org(client, stranger, "Elsewhere")
    r = await client.delete(f"{SCHEDULED}/{waiting['id']}", headers=stranger.auth)
    assert r.status_code == 404
    r = await client.delete(f"{SCHEDULED}/01890000-0000-7000-8000-000000000000", headers=owner.auth)
    assert r.status_code == 404
    rows = await fetch(database_url, "SELECT state FROM communication.notifications")
    assert [row["state"] for row in rows] == ["scheduled"]


async def test_history_retention_keeps_what_has_not_gone_out(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    """Scheduled up to 366 days ahead, a notification is older than the history period
    (365 days) before it goes out: the daily prune leaves it."""
    owner, org, _ = await org_with(client, database_url)
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    app.state.kernel.clock = clock
    far = await sent(client, owner, org, sendAt=(clock() + timedelta(days=366)).isoformat())
    async with periodic_kernel(settings, clock) as kernel:
        clock.advance(days=365, hours=12)
        await kernel.services["history_retention"].prune()
        rows = await fetch(database_url, "SELECT id, state FROM communication.notifications")
        assert [(str(r["id"]), r["state"]) for r in rows] == [(far["id"], "scheduled")]
        clock.advance(hours=12)
        assert await kernel.services["notifications"].release_due() == 1
