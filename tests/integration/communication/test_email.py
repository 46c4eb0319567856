"""E-mail deliveries: to a real SMTP receiver (aiosmtpd), refused addresses failing into
the dead letters, quiet hours deferring and releasing on a moved clock, and a shared
document becoming a notification."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from hub.app import context_modules
from hub.communication.services.email import DeferredRelease
from hub.kernel.clock import MovableClock
from hub.kernel.deadletter import list_dead
from hub.kernel.mail import Mailbox, StoredMail
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
    sent,
    statuses,
    use_clock,
)
from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support_orgs import join
from tests.integration.kernel.test_mail import Inbox


async def test_email_reaches_smtp_and_a_refused_address_fails_to_the_dead_letters(
    client: Client,
    database_url: str,
    smtp_worker: tuple[InProcessWorker, Inbox],
    smtp: tuple[Inbox, int],
) -> None:
    worker, smtp_inbox = smtp_worker
    smtp_port = smtp[1]
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    gone = await join(client, database_url, org, owner, "gone@refused.example")
    await worker.drain(within=20)  # the sign-up and invitation mail
    smtp_inbox.messages.clear()
    note = await sent(
        client,
        owner,
        org,
        recipients={"userIds": [ann.user_id, gone.user_id]},
        template="security.alert",
        payload={"summary": "New sign-in", "detail": "From <Firefox>"},
        channels=["email"],
    )
    await worker.drain(within=20)

    (message,) = [m for m in smtp_inbox.messages if m["To"] == ann.email]
    assert message["Subject"] == "Security alert: New sign-in"
    assert "From <Firefox>" in message.get_body(("plain",)).get_content()
    rows = {r["userId"]: r for r in await deliveries(client, owner, org, notificationId=note["id"])}
    provider = f"127.0.0.1:{smtp_port}"  # no ?name=: host:port
    assert (rows[ann.user_id]["status"], rows[ann.user_id]["provider"]) == ("sent", provider)
    assert rows[ann.user_id]["attempts"] == 1
    assert [(a["provider"], a["outcome"]) for a in rows[ann.user_id]["providerAttempts"]] == [
        (provider, "sent")
    ]
    refused = rows[gone.user_id]
    assert (refused["status"], refused["attempts"]) == ("failed", 1)  # 5xx: no retry
    assert "550" in refused["lastError"]
    (rejected,) = refused["providerAttempts"]
    assert (rejected["outcome"], rejected["provider"]) == ("rejected", provider)
    assert "550 5.1.1" in rejected["error"]
    broker = worker.background.broker
    dead = [
        d
        for d in list_dead(broker.client, broker.namespace)
        if d.actor == "communication.send_email"
    ]
    assert len(dead) == 1
    assert "RecipientsRefusedError" in dead[0].error  # a PermanentMailError
    assert await inbox(client, ann) == []  # e-mail only, as asked


def _notices(mailbox: Mailbox, to: str) -> list[StoredMail]:
    return [m for m in mailbox.list(to=to) if "notification" in m.tags]


async def test_quiet_hours_defer_email_until_the_window_ends(
    client: Client,
    app: Litestar,
    database_url: str,
    events: InProcessWorker,
    mailbox: Mailbox,
    settings: Settings,
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    # 23:30 in Berlin (UTC+1 in January): inside 22:00-07:00
    clock = MovableClock(datetime(2027, 1, 14, 22, 30, tzinfo=UTC))
    assert settings.database_url is not None
    assert settings.redis_url is not None
    # the periodic release job's service, on this test's event loop (as a worker runs it)
    kernel = Kernel(settings, settings.database_url, settings.redis_url, clock=clock)
    assemble(kernel, context_modules())
    use_clock(clock, app=app, worker=events, also=[kernel])
    r = await client.put(
        f"{NOTIFICATIONS}/preferences",
        json={"timeZone": "Europe/Berlin", "quietHours": {"start": "22:00", "end": "07:00"}},
        headers=ann.auth,
    )
    assert r.status_code == 200, r.text
    to_ann: dict[str, Any] = {"userIds": [ann.user_id]}
    normal = await sent(client, owner, org, recipients=to_ann)
    critical = await sent(client, owner, org, recipients=to_ann, priority="critical")
    await events.drain()
    got = statuses(await deliveries(client, owner, org, notificationId=normal["id"]))
    assert got == {(ann.user_id, "in_app"): "sent", (ann.user_id, "email"): "deferred"}
    (deferred,) = await deliveries(client, owner, org, status="deferred")
    assert deferred["deliverAfter"].startswith("2027-01-15T06:00:00")  # 07:00 in Berlin
    assert deferred["reason"] == "quiet hours"
    got = statuses(await deliveries(client, owner, org, notificationId=critical["id"]))
    assert set(got.values()) == {"sent"}  # critical ignores quiet hours
    assert len(_notices(mailbox, ann.email)) == 1

    release: DeferredRelease = kernel.services["deferred_release"]
    try:
        clock.advance(hours=7, minutes=29)  # 06:59 in Berlin
        assert await release.release_due() == 0
        clock.advance(minutes=1)
        assert await release.release_due() == 1
        await events.drain()
        got = statuses(await deliveries(client, owner, org, notificationId=normal["id"]))
        assert got[(ann.user_id, "email")] == "sent"
        assert [m.subject for m in _notices(mailbox, ann.email)] == ["Hello", "Hello"]
        assert await release.release_due() == 0
    finally:
        await kernel.close()


async def test_bad_preferences_are_refused(client: Client, database_url: str) -> None:
    _, _, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"timeZone": "Mars/Olympus"}, 422, "timeZone"),
        ({"quietHours": {"start": "22:00", "end": "22:00"}}, 422, "quietHours.end"),
        ({"quietHours": {"start": "25:00", "end": "07:00"}}, 400, ""),
        ({"channels": {"nope": {"email": True}}}, 422, "channels.nope"),
        ({"channels": {"general": {"pigeon": True}}}, 422, "channels.general.pigeon"),
        ({"locale": "english"}, 400, ""),
    ]
    for body, status, field in cases:
        r = await client.put(f"{NOTIFICATIONS}/preferences", json=body, headers=ann.auth)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == field
    r = await client.get(f"{NOTIFICATIONS}/preferences", headers=ann.auth)
    assert r.json()["channels"] == {}
    assert r.json()["timeZone"] is None
    assert "workflow.tasks" in {c["key"] for c in r.json()["categories"]}


async def test_a_shared_document_notifies_the_new_readers_once(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    doc = await uploaded(client, owner, org, pdf(b"x"), title="Q3 report")
    url = f"{DOCS}/{doc['id']}/permissions"
    shares: list[dict[str, Any]] = [{"userId": ann.user_id, "access": "view"}]
    r = await client.put(url, json={"restricted": True, "shares": shares}, headers=owner.auth)
    assert r.status_code == 200, r.text
    await events.drain()
    shares.append({"userId": bob.user_id, "access": "edit"})
    r = await client.put(url, json={"restricted": True, "shares": shares}, headers=owner.auth)
    assert r.status_code == 200, r.text
    await events.drain()
    (item,) = await inbox(client, ann)
    assert item["title"].endswith("shared “Q3 report” with you")
    assert item["actionUrl"].endswith(f"/documents/{doc['id']}")
    assert item["category"] == "documents"
    assert len(await inbox(client, bob)) == 1  # told once, when added
    assert await inbox(client, owner) == []
