"""Pinned messages: any participant pins and unpins (twice changes nothing), the pins are
listed latest first, a deleted message loses its pin and takes none, at most 50 per
conversation even when pinned all at once, and outsiders learn nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.communication.support import Client, org_with
from tests.integration.communication.support_conversations import (
    CONVERSATIONS,
    conversation,
    messages,
    say,
)
from tests.integration.identity.support import fetch


async def pin(client: Client, who: Any, chat: str, message_id: str, method: str = "PUT") -> Any:
    return await client.request(
        method, f"{CONVERSATIONS}/{chat}/messages/{message_id}/pin", headers=who.auth
    )


async def pinned(client: Client, who: Any, chat: str) -> list[str]:
    r = await client.get(f"{CONVERSATIONS}/{chat}/pins", headers=who.auth)
    assert r.status_code == 200, r.text
    return [m["body"] for m in r.json()["items"]]


async def test_participants_pin_and_unpin_messages(client: Client, database_url: str) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    chat = (await conversation(client, ann, org, bob, title="Team"))["id"]
    rules = await say(client, bob, chat, "House rules")
    agenda = await say(client, ann, chat, "Agenda")

    r = await pin(client, ann, chat, rules["id"])
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["pinnedBy"], first["pinnedAt"] is not None) == (ann.user_id, True)
    r = await pin(client, bob, chat, rules["id"])  # twice: no change
    assert (r.json()["pinnedAt"], r.json()["pinnedBy"]) == (first["pinnedAt"], ann.user_id)
    assert (await pin(client, bob, chat, agenda["id"])).status_code == 200
    assert await pinned(client, ann, chat) == ["Agenda", "House rules"]
    shown = {m["body"]: m for m in (await messages(client, bob, chat))["items"]}
    assert shown["House rules"]["pinnedBy"] == ann.user_id

    r = await pin(client, bob, chat, rules["id"], "DELETE")
    assert (r.status_code, r.json()["pinnedAt"], r.json()["pinnedBy"]) == (200, None, None)
    assert (await pin(client, bob, chat, rules["id"], "DELETE")).status_code == 200
    assert await pinned(client, bob, chat) == ["Agenda"]

    # A deleted message loses its pin and takes none.
    r = await client.delete(f"{CONVERSATIONS}/{chat}/messages/{agenda['id']}", headers=ann.auth)
    assert r.status_code == 204
    assert await pinned(client, ann, chat) == []
    r = await pin(client, ann, chat, agenda["id"])
    assert (r.status_code, r.json()["code"]) == (409, "message_deleted")

    # Outsiders, and messages of another conversation, are not found.
    other = (await conversation(client, owner, org, bob))["id"]
    elsewhere = await say(client, owner, other, "not Ann's")
    assert (await pin(client, owner, chat, rules["id"])).status_code == 404
    assert (await client.get(f"{CONVERSATIONS}/{chat}/pins", headers=owner.auth)).status_code == 404
    assert (await pin(client, ann, chat, elsewhere["id"])).status_code == 404
    rows = await fetch(
        database_url, "SELECT count(*) AS n FROM communication.messages WHERE pinned_at IS NOT NULL"
    )
    assert rows[0]["n"] == 0


async def test_at_most_fifty_pins_even_all_at_once(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    _, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    chat = (await conversation(client, ann, org, bob))["id"]
    sent = [await say(client, ann, chat, f"m{i}") for i in range(53)]
    answers = await asyncio.gather(
        *(pin(client, (ann, bob)[i % 2], chat, m["id"]) for i, m in enumerate(sent))
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 50 + [409] * 3
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"too_many_pins"}
    assert len(await pinned(client, bob, chat)) == 50
