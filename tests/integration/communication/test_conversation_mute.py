"""Muting a conversation, on a moved clock: while muted it sends its participant no
unread-messages notice and stays out of their unread total (its own count still shows);
the mute ends by itself at ``until`` or when unmuted; bad times are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from tests.integration.communication.support import Client, org_with
from tests.integration.communication.support_conversations import (
    CONVERSATIONS,
    conversation,
    say,
    shown,
    unread_total,
)
from tests.integration.communication.support_periodic import periodic_kernel


async def mute(client: Client, who: Any, conversation_id: str, **body: Any) -> Any:
    return await client.put(f"{CONVERSATIONS}/{conversation_id}/mute", json=body, headers=who.auth)


async def test_a_muted_conversation_is_quiet_until_the_mute_ends(
    client: Client, app: Litestar, database_url: str, settings: Settings
) -> None:
    _, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    app.state.kernel.clock = clock
    chat = (await conversation(client, ann, org, bob))["id"]
    until = clock() + timedelta(hours=1)

    r = await mute(client, bob, chat, until=until.isoformat())
    assert r.status_code == 200, r.text
    assert (r.json()["muted"], r.json()["mutedUntil"]) == (
        True,
        until.isoformat().replace("+00:00", "Z"),
    )
    await say(client, ann, chat, "Are you there?")
    seen = await shown(client, bob, chat)
    assert (seen["unreadCount"], seen["muted"]) == (1, True)  # its own count still shows
    assert await unread_total(client, bob, organisationId=org) == 0
    assert (await shown(client, ann, chat))["muted"] is False  # Ann's view is her own

    async with periodic_kernel(settings, clock) as kernel:
        notices = kernel.services["conversation_unread_notices"]
        clock.advance(minutes=11)
        assert await notices.run() == 0  # muted: no notice
        clock.advance(hours=1)
        assert await unread_total(client, bob, organisationId=org) == 1  # the mute ended
        assert (await shown(client, bob, chat))["muted"] is False
        assert await notices.run() == 1

    # Until unmuted, then unmuted (twice: no change).
    r = await mute(client, bob, chat)
    assert (r.json()["muted"], r.json()["mutedUntil"]) == (True, None)
    clock.advance(days=400)
    assert (await shown(client, bob, chat))["muted"] is True
    assert await unread_total(client, bob, organisationId=org) == 0
    for _ in range(2):
        r = await client.delete(f"{CONVERSATIONS}/{chat}/mute", headers=bob.auth)
        assert r.status_code == 200, r.text
        assert (r.json()["muted"], r.json()["mutedUntil"]) == (False, None)
    assert await unread_total(client, bob, organisationId=org) == 1


async def test_bad_mutes_are_refused_and_change_nothing(
    client: Client, app: Litestar, database_url: str
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    clock = MovableClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    app.state.kernel.clock = clock
    chat = (await conversation(client, ann, org, bob))["id"]
    for until, status in (
        ("2027-01-04T09:00:00Z", 422),  # now is not the future
        ("2026-12-31T00:00:00Z", 422),
        ("2027-01-04T10:00:00", 400),  # no time zone
        ("\u00a02027-01-04T10:00:00Z", 400),
        ("soon", 400),
    ):
        r = await mute(client, bob, chat, until=until)
        assert r.status_code == status, (until, r.text)
        if status == 422:
            assert r.json()["errors"][0]["field"] == "until"
    r = await mute(client, owner, chat)  # not a participant
    assert r.status_code == 404
    r = await client.delete(f"{CONVERSATIONS}/{chat}/mute", headers=owner.auth)
    assert r.status_code == 404
    assert (await shown(client, bob, chat))["muted"] is False
