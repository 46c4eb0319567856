"""Helpers for the conversation tests: start conversations, send and read messages."""

from __future__ import annotations

from typing import Any

from tests.integration.communication.support import Client, org_with
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person

CONVERSATIONS = f"{API}/conversations"


async def conversation(
    client: Client, who: Person, org: str, *others: Person, **fields: Any
) -> dict[str, Any]:
    body = {"organisationId": org, "participantIds": [p.user_id for p in others], **fields}
    r = await client.post(CONVERSATIONS, json=body, headers=who.auth)
    assert r.status_code in (200, 201), r.text
    created: dict[str, Any] = r.json()
    return created


async def chat_and_elsewhere(
    client: Client, database_url: str
) -> tuple[Person, str, Person, Person, dict[str, Any], dict[str, Any]]:
    """An organisation's owner, Ann and Bob; Ann and Bob's conversation, and the owner and
    Bob's (somewhere Ann is not): ``owner, org, ann, bob, chat, elsewhere``."""
    owner, org, people = await org_with(client, database_url, ("ann", None), ("bob", None))
    ann, bob = people["ann"], people["bob"]
    chat = await conversation(client, ann, org, bob)
    elsewhere = await conversation(client, owner, org, bob)
    return owner, org, ann, bob, chat, elsewhere


async def say(
    client: Client, who: Person, conversation_id: str, body: str = "hi", **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        f"{CONVERSATIONS}/{conversation_id}/messages",
        json={"body": body, **fields},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    message: dict[str, Any] = r.json()
    return message


async def messages(
    client: Client, who: Person, conversation_id: str, **params: Any
) -> dict[str, Any]:
    r = await client.get(
        f"{CONVERSATIONS}/{conversation_id}/messages", params=params, headers=who.auth
    )
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def unread_total(client: Client, who: Person, **params: Any) -> int:
    r = await client.get(f"{CONVERSATIONS}/unread-count", params=params, headers=who.auth)
    assert r.status_code == 200, r.text
    count: int = r.json()["count"]
    return count


async def shown(client: Client, who: Person, conversation_id: str) -> dict[str, Any]:
    r = await client.get(f"{CONVERSATIONS}/{conversation_id}", headers=who.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
