"""Conversation events on the notification stream, against a real uvicorn server:
``message.created``, ``message.updated`` (edit, delete, a thread's new reply) and
``conversation.read`` reach every participant's open stream, each with attachments as
that reader may see them, and nothing reaches someone who is not a participant; new
conversations and people joining or leaving are pushed to those concerned."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.integration.communication.support import org_with
from tests.integration.communication.support_conversations import CONVERSATIONS, conversation, say
from tests.integration.communication.test_stream import STREAM
from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support_orgs import Person


async def _next_event(lines: AsyncIterator[str], name: str) -> dict[str, Any]:
    """The data of the next event called ``name`` (comments and other events skipped)."""
    current = None
    async for line in lines:
        if line.startswith("event: "):
            current = line.removeprefix("event: ")
        elif line.startswith("data: ") and current == name:
            data: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return data
    raise AssertionError(f"the stream ended before a {name!r} event")


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    current = None
    async for line in lines:
        if line.startswith("event: "):
            current = line.removeprefix("event: ")
        elif line.startswith("data: ") and current is not None:
            yield current, json.loads(line.removeprefix("data: "))
            current = None


async def _ticket(client: httpx.AsyncClient, who: Person) -> str:
    r = await client.post(f"{STREAM}/ticket", headers=who.auth)
    assert r.status_code == 201, r.text
    ticket: str = r.json()["ticket"]
    return ticket


async def test_message_and_read_events_reach_each_participant(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    owner, org, people = await org_with(
        live_client, database_url, ("ann", None), ("bob", None), ("cat", None)
    )
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    secret = await uploaded(live_client, owner, org, pdf(b"s"), title="Secret")
    r = await live_client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": [{"userId": ann.user_id, "access": "view"}]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    group = (await conversation(live_client, owner, org, ann, bob, title="Team"))["id"]

    async with (
        live_client.stream("GET", STREAM, params={"ticket": await _ticket(live_client, ann)}) as a,
        live_client.stream("GET", STREAM, params={"ticket": await _ticket(live_client, bob)}) as b,
        live_client.stream("GET", STREAM, params={"ticket": await _ticket(live_client, cat)}) as c,
    ):
        streams = {"ann": a.aiter_lines(), "bob": b.aiter_lines(), "cat": c.aiter_lines()}
        for lines in streams.values():
            await asyncio.wait_for(_next_event(lines, "ready"), 20)
        events = {name: _events(lines) for name, lines in streams.items()}

        async def next_of(name: str) -> tuple[str, dict[str, Any]]:
            return await asyncio.wait_for(anext(events[name]), 20)

        sent = await say(live_client, owner, group, "with a secret", attachments=[secret["id"]])
        for name, visible in (("ann", True), ("bob", False)):
            kind, data = await next_of(name)
            assert kind == "message.created"
            assert (data["conversationId"], data["organisationId"]) == (group, org)
            message = data["message"]
            assert (message["id"], message["body"], message["seq"]) == (
                sent["id"],
                "with a secret",
                1,
            )
            (attachment,) = message["attachments"]
            assert attachment["available"] is visible
            assert attachment["title"] == ("Secret" if visible else None)

        url = f"{CONVERSATIONS}/{group}/messages/{sent['id']}"
        r = await live_client.patch(url, json={"body": "edited"}, headers=owner.auth)
        assert r.status_code == 200, r.text
        for name in ("ann", "bob"):
            kind, data = await next_of(name)
            assert (kind, data["message"]["body"], data["message"]["deleted"]) == (
                "message.updated",
                "edited",
                False,
            )

        r = await live_client.post(f"{CONVERSATIONS}/{group}/read", headers=ann.auth)
        assert r.status_code == 200, r.text
        kind, mine = await next_of("ann")
        assert (kind, mine["userId"], mine["lastReadSeq"], mine["conversationUnreadCount"]) == (
            "conversation.read",
            ann.user_id,
            1,
            0,
        )
        assert mine["lastReadMessageId"] == sent["id"]
        kind, theirs = await next_of("bob")
        assert (kind, theirs["userId"], "conversationUnreadCount" in theirs) == (
            "conversation.read",
            ann.user_id,
            False,
        )

        assert (await live_client.delete(url, headers=owner.auth)).status_code == 204
        for name in ("ann", "bob"):
            kind, data = await next_of(name)
            assert (kind, data["message"]["deleted"], data["message"]["body"]) == (
                "message.updated",
                True,
                "",
            )

        # Typing reaches the others (not the typist), and says until when to show it.
        r = await live_client.post(f"{CONVERSATIONS}/{group}/typing", headers=ann.auth)
        assert r.status_code == 204, r.text
        kind, data = await next_of("bob")
        assert (kind, data["conversationId"], data["userId"]) == (
            "conversation.typing",
            group,
            ann.user_id,
        )
        assert datetime.fromisoformat(data["until"]) > datetime.now(UTC)
        await say(live_client, bob, group, "after typing")
        kind, data = await next_of("ann")
        assert (kind, data["message"]["body"]) == ("message.created", "after typing")
        kind, data = await next_of("bob")
        assert (kind, data["message"]["body"]) == ("message.created", "after typing")

        # A reply in a thread: the reply, then its root with the new count.
        typed = (await say(live_client, ann, group, "Any news?"))["id"]
        for name in ("ann", "bob"):
            await next_of(name)  # "Any news?" itself
        await say(live_client, bob, group, "Yes", threadId=typed)
        for name in ("ann", "bob"):
            kind, data = await next_of(name)
            assert (kind, data["message"]["body"], data["message"]["threadId"]) == (
                "message.created",
                "Yes",
                typed,
            )
            kind, data = await next_of(name)
            assert (kind, data["message"]["id"], data["message"]["threadReplyCount"]) == (
                "message.updated",
                typed,
                1,
            )

        # cat, not a participant, got nothing: the first thing cat sees is cat's own
        # direct conversation's message
        direct = (await conversation(live_client, owner, org, cat))["id"]
        kind, data = await next_of("cat")
        assert (kind, data["conversationId"], data["kind"]) == (
            "conversation.created",
            direct,
            "direct",
        )
        assert {p["userId"] for p in data["participants"]} == {owner.user_id, cat.user_id}
        await say(live_client, owner, direct, "just you")
        kind, data = await next_of("cat")
        assert (kind, data["conversationId"], data["message"]["body"]) == (
            "message.created",
            direct,
            "just you",
        )

        # People joining and leaving reach everyone concerned.
        people_url = f"{CONVERSATIONS}/{group}/participants"
        r = await live_client.post(people_url, json={"userIds": [cat.user_id]}, headers=owner.auth)
        assert r.status_code == 200, r.text
        for name in ("ann", "bob", "cat"):
            kind, data = await next_of(name)
            assert (kind, data["conversationId"]) == ("conversation.updated", group)
            assert cat.user_id in {p["userId"] for p in data["participants"]}
        r = await live_client.delete(f"{people_url}/{cat.user_id}", headers=owner.auth)
        assert r.status_code == 204, r.text
        kind, data = await next_of("cat")
        assert (kind, data["conversationId"], data["organisationId"], data["userId"]) == (
            "conversation.removed",
            group,
            org,
            cat.user_id,
        )
        for name in ("ann", "bob"):
            kind, data = await next_of(name)
            assert kind == "conversation.updated"
            assert cat.user_id not in {p["userId"] for p in data["participants"]}
        r = await live_client.patch(
            f"{CONVERSATIONS}/{group}", json={"title": "Renamed"}, headers=owner.auth
        )
        assert r.status_code == 200, r.text
        for name in ("ann", "bob"):
            kind, data = await next_of(name)
            assert (kind, data["title"]) == ("conversation.updated", "Renamed")
