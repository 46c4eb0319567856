"""Notes on documents: whoever may read the document reads and adds them, non-readers
get 404, only a note's author deletes it, and adding one is an event."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.content.support import DOCS, pdf, role, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import create_org, join, person

Client = AsyncTestClient[Litestar]


async def test_notes(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(client, owner, org, "plain", ["identity.org.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com")
    nobody = await join(client, database_url, org, owner, "nobody@example.com", ["plain"])
    outsider = await person(client, database_url, "outsider@example.com")
    await create_org(client, outsider, "Elsewhere")
    doc = await uploaded(client, owner, org, pdf(b"x"))
    notes = f"{DOCS}/{doc['id']}/notes"

    r = await client.post(notes, json={"text": "Checked the totals."}, headers=owner.auth)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["authorId"], first["documentId"], first["text"]) == (
        owner.user_id,
        doc["id"],
        "Checked the totals.",
    )
    r = await client.post(notes, json={"text": "Page 3 is missing."}, headers=reader.auth)
    assert r.status_code == 201, r.text
    second = r.json()

    # every reader sees them, oldest first, one page at a time
    for who in (owner, reader):
        items = (await client.get(notes, headers=who.auth)).json()["items"]
        assert [n["text"] for n in items] == ["Checked the totals.", "Page 3 is missing."]
    page = (await client.get(f"{notes}?limit=1", headers=reader.auth)).json()
    assert [n["id"] for n in page["items"]] == [first["id"]]
    rest = await client.get(f"{notes}?limit=1&cursor={page['nextCursor']}", headers=reader.auth)
    assert [n["id"] for n in rest.json()["items"]] == [second["id"]]

    # non-readers: the document does not exist for them
    for who in (nobody, outsider):
        assert (await client.get(notes, headers=who.auth)).status_code == 404
        r = await client.post(notes, json={"text": "hi"}, headers=who.auth)
        assert r.status_code == 404
        assert (await client.delete(f"{notes}/{first['id']}", headers=who.auth)).status_code == 404
    assert (await client.get(notes)).status_code == 401

    # only the author deletes a note
    r = await client.delete(f"{notes}/{first['id']}", headers=reader.auth)
    assert r.status_code == 403
    r = await client.delete(f"{notes}/{second['id']}", headers=owner.auth)
    assert r.status_code == 403
    assert (await client.delete(f"{notes}/{second['id']}", headers=reader.auth)).status_code == 204
    assert (await client.delete(f"{notes}/{second['id']}", headers=reader.auth)).status_code == 404
    items = (await client.get(notes, headers=reader.auth)).json()["items"]
    assert [n["id"] for n in items] == [first["id"]]

    # empty text is refused; nothing stored for refused requests
    r = await client.post(notes, json={"text": "   "}, headers=owner.auth)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["text"]
    rows = await fetch(database_url, "SELECT body FROM content.notes")
    assert [r["body"] for r in rows] == ["Checked the totals."]

    added = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.note_added' "
        "ORDER BY position",
    )
    payloads = [json.loads(a["payload"]) for a in added]
    assert [(p["noteId"], p["authorId"], p["documentId"]) for p in payloads] == [
        (first["id"], owner.user_id, doc["id"]),
        (second["id"], reader.user_id, doc["id"]),
    ]
    assert all("text" not in p for p in payloads)
