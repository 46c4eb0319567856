"""Mentions in notes: the members a note mentions who may read its document are told
(``document.mentioned``, once); the author, members who may not read it and people of
other organisations are not."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.content.support import DOCS, pdf, role, uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]


async def _titles(client: Client, who: Person) -> list[str]:
    r = await client.get(f"{API}/notifications", headers=who.auth)
    assert r.status_code == 200, r.text
    return [i["title"] for i in r.json()["items"]]


async def test_mentioned_readers_are_told_and_nobody_else(
    client: Client, database_url: str, events: Any
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(client, owner, org, "plain", ["identity.org.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com")
    blind = await join(client, database_url, org, owner, "blind@example.com", ["plain"])
    outsider = await person(client, database_url, "outsider@example.com")
    doc = await uploaded(client, owner, org, pdf(b"x"), title="Contract")
    everyone = [reader.user_id, blind.user_id, outsider.user_id, owner.user_id]

    r = await client.post(
        f"{DOCS}/{doc['id']}/notes",
        json={"text": "@reader please check page 3", "mentions": everyone},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    await events.drain()
    assert await _titles(client, reader) == ["Alice mentioned you on “Contract”"]
    assert await _titles(client, blind) == []  # may not read documents
    assert await _titles(client, outsider) == []  # not a member
    assert await _titles(client, owner) == []  # the author
    [event] = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.note_added'",
    )
    assert json.loads(event["payload"])["mentions"] == everyone[:3]  # the author left out

    # a restricted document: a mention tells nobody who may not open it
    r = await client.put(
        f"{DOCS}/{doc['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{DOCS}/{doc['id']}/notes",
        json={"text": "sealed now", "mentions": [reader.user_id]},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    await events.drain()
    assert len(await _titles(client, reader)) == 1


async def test_mentions_are_checked_as_the_document_states(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    doc = await uploaded(client, owner, org, pdf(b"x"))
    url = f"{DOCS}/{doc['id']}/notes"
    same = str(uuid.uuid4())
    for mentions in ([same, same], [str(uuid.uuid4()) for _ in range(21)], ["ann"]):
        r = await client.post(url, json={"text": "hi", "mentions": mentions}, headers=owner.auth)
        assert r.status_code == 400, r.text
    notes = await fetch(database_url, "SELECT count(*) AS n FROM content.notes")
    assert notes[0]["n"] == 0
