"""Escalate if unread: in-app at once, the e-mail only if the item is still unread N
minutes later (the periodic job run on a moved clock); reading it in time cancels the
e-mail, and preferences still apply to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.communication.services.escalation import READ_IN_TIME, Escalation
from hub.kernel.clock import MovableClock
from hub.kernel.mail import Mailbox, StoredMail
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support import (
    NOTIFICATIONS,
    Client,
    deliveries,
    inbox,
    org_with,
    send,
    sent,
    use_clock,
)
from tests.integration.communication.support_periodic import periodic_kernel


def _notices(mailbox: Mailbox, to: str) -> list[StoredMail]:
    return [m for m in mailbox.list(to=to) if "notification" in m.tags]


async def test_the_email_goes_only_to_who_has_not_read_in_time(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    mailbox: Mailbox,
    settings: Settings,
) -> None:
    owner, org, people = await org_with(
        client, database_url, ("ann", None), ("bob", None), ("carl", None), ("dora", None)
    )
    ann, bob, carl, dora = people["ann"], people["bob"], people["carl"], people["dora"]
    clock = MovableClock(datetime(2027, 5, 3, 9, 0, tzinfo=UTC))
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=events, also=[kernel])
        escalation: Escalation = kernel.services["escalation"]
        # Dora is quiet 09:00-12:00 UTC, but only from now on (the e-mail waits anyway)
        everyone = [p.user_id for p in (ann, bob, carl, dora)]
        note = await sent(
            client,
            owner,
            org,
            recipients={"userIds": everyone},
            escalateAfterMinutes=30,
        )
        await events.drain()
        rows = await deliveries(client, owner, org, notificationId=note["id"], channel="email")
        assert {r["status"] for r in rows} == {"deferred"}
        assert {r["deliverAfter"][:19] for r in rows} == {"2027-05-03T09:30:00"}
        assert {r["reason"] for r in rows} == {"escalation: e-mail if unread after 30 min"}
        for who in (ann, bob, carl, dora):
            assert len(await inbox(client, who)) == 1  # in-app at once
            assert _notices(mailbox, who.email) == []

        (item,) = await inbox(client, ann)
        r = await client.post(f"{NOTIFICATIONS}/{item['id']}/read", headers=ann.auth)
        assert r.status_code == 200, r.text
        r = await client.put(
            f"{NOTIFICATIONS}/preferences",
            json={"channels": {"general": {"email": False}}},
            headers=carl.auth,
        )
        assert r.status_code == 200, r.text
        r = await client.put(
            f"{NOTIFICATIONS}/preferences",
            json={"quietHours": {"start": "09:00", "end": "12:00"}},
            headers=dora.auth,
        )
        assert r.status_code == 200, r.text

        clock.advance(minutes=29, seconds=59)
        assert await escalation.run_due() == {"queued": 0, "skipped": 0, "deferred": 0}
        clock.advance(seconds=1)
        assert await escalation.run_due() == {"queued": 1, "skipped": 2, "deferred": 1}
        assert await escalation.run_due() == {"queued": 0, "skipped": 0, "deferred": 0}
        await events.drain()
        rows = await deliveries(client, owner, org, notificationId=note["id"], channel="email")
        by_user = {r["userId"]: r for r in rows}
        assert (by_user[ann.user_id]["status"], by_user[ann.user_id]["reason"]) == (
            "skipped",
            READ_IN_TIME,
        )
        assert by_user[bob.user_id]["status"] == "sent"
        assert by_user[carl.user_id]["status"] == "skipped"  # preferences still apply
        assert by_user[carl.user_id]["reason"] == "turned off in preferences"
        assert by_user[dora.user_id]["status"] == "deferred"  # quiet hours
        assert by_user[dora.user_id]["deliverAfter"].startswith("2027-05-03T12:00:00")
        assert [m.subject for m in _notices(mailbox, bob.email)] == ["Hello"]
        for who in (ann, carl, dora):
            assert _notices(mailbox, who.email) == []

        # the quiet-hours deferral is still an escalation: the deferred-release job
        # leaves it alone, and reading it before noon would still cancel it
        release = kernel.services["deferred_release"]
        clock.set(datetime(2027, 5, 3, 12, 0, tzinfo=UTC))
        assert await release.release_due() == 0
        assert await escalation.run_due() == {"queued": 1, "skipped": 0, "deferred": 0}
        await events.drain()
        assert [m.subject for m in _notices(mailbox, dora.email)] == ["Hello"]
        assert len(_notices(mailbox, bob.email)) == 1


async def test_reading_during_quiet_hours_still_cancels_and_bad_requests_are_refused(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    mailbox: Mailbox,
    settings: Settings,
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    clock = MovableClock(datetime(2027, 5, 3, 21, 50, tzinfo=UTC))
    async with periodic_kernel(settings, clock) as kernel:
        use_clock(clock, app=app, worker=events, also=[kernel])
        escalation: Escalation = kernel.services["escalation"]
        r = await client.put(
            f"{NOTIFICATIONS}/preferences",
            json={"quietHours": {"start": "22:00", "end": "07:00"}},
            headers=ann.auth,
        )
        assert r.status_code == 200, r.text
        to_ann: dict[str, Any] = {"userIds": [ann.user_id]}
        note = await sent(client, owner, org, recipients=to_ann, escalateAfterMinutes=15)
        await events.drain()
        clock.advance(minutes=15)  # 22:05: unread, but quiet
        assert await escalation.run_due() == {"queued": 0, "skipped": 0, "deferred": 1}
        clock.set(datetime(2027, 5, 4, 6, 30, tzinfo=UTC))
        (item,) = await inbox(client, ann)
        r = await client.post(f"{NOTIFICATIONS}/{item['id']}/archive", headers=ann.auth)
        assert r.status_code == 200, r.text
        clock.set(datetime(2027, 5, 4, 7, 0, tzinfo=UTC))
        assert await escalation.run_due() == {"queued": 0, "skipped": 1, "deferred": 0}
        await events.drain()
        (row,) = await deliveries(client, owner, org, notificationId=note["id"], channel="email")
        assert (row["status"], row["reason"]) == ("skipped", READ_IN_TIME)
        assert _notices(mailbox, ann.email) == []

    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"escalateAfterMinutes": 10, "channels": ["email"]}, 422, "escalateAfterMinutes"),
        ({"escalateAfterMinutes": 10, "channels": ["in_app"]}, 422, "escalateAfterMinutes"),
        ({"escalateAfterMinutes": 0}, 400, ""),
        ({"escalateAfterMinutes": 7 * 24 * 60 + 1}, 400, ""),
    ]
    for body, status, field in cases:
        r = await send(client, owner, org, recipients=to_ann, **body)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == field
