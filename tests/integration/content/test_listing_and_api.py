"""Lists (filters, sorts, cursor pages), metadata edits and their events, and the
``ContentApi`` other contexts call."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.content.api import ContentApi
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from tests.integration.content.support import (
    DOCS,
    add_version,
    custom_fields,
    document_type,
    pdf,
    role,
    uploaded,
)
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import create_org, join, person

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def content_api(settings: Settings) -> AsyncIterator[ContentApi]:
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url)
    assemble(kernel, context_modules())
    try:
        yield kernel.services["content_api"]
    finally:
        await kernel.close()


async def _payloads(database_url: str, event_type: str) -> list[dict[str, object]]:
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = $1 ORDER BY position",
        event_type,
    )
    return [json.loads(r["payload"]) for r in rows]


async def test_filters_sorts_and_pages(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    other = await join(client, database_url, org, owner, "other@example.com", ["admin"])
    type_a = await document_type(client, owner, org)
    made = []
    for i, title in enumerate(["cherry", "apple", "banana", "date", "elder"]):
        who = owner if i % 2 == 0 else other
        made.append(
            await uploaded(
                client,
                who,
                org,
                pdf(title.encode()),
                title=title,
                tags=["even"] if i % 2 == 0 else ["odd"],
                document_type_id=type_a if i < 2 else None,
            )
        )
    base = f"{DOCS}?organisationId={org}"

    async def titles(query: str) -> list[str]:
        r = await client.get(base + query, headers=owner.auth)
        assert r.status_code == 200, r.text
        return [d["title"] for d in r.json()["items"]]

    assert await titles("") == ["elder", "date", "banana", "apple", "cherry"]  # newest first
    assert await titles("&sort=title") == ["apple", "banana", "cherry", "date", "elder"]
    assert await titles(f"&ownerId={other.user_id}") == ["date", "apple"]
    assert await titles(f"&documentTypeId={type_a}") == ["apple", "cherry"]
    even = next(t["id"] for t in made[0]["tags"])
    assert await titles(f"&tag={even}") == ["elder", "banana", "cherry"]
    created = made[2]["createdAt"]
    assert await titles(f"&createdFrom={created.replace('+', '%2B')}") == [
        "elder",
        "date",
        "banana",
    ]
    assert await titles(f"&createdTo={created.replace('+', '%2B')}") == ["apple", "cherry"]

    # every document once, in order, page after page
    seen: list[str] = []
    cursor = None
    while True:
        query = "&sort=title&limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = (await client.get(base + query, headers=owner.auth)).json()
        seen += [d["title"] for d in r["items"]]
        cursor = r["nextCursor"]
        if cursor is None:
            break
    assert seen == ["apple", "banana", "cherry", "date", "elder"]
    r = await client.get(base + f"&sort=created&cursor={cursor or 'bad'}", headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor")

    r = await client.get(base + "&facets=tags,types", headers=owner.auth)
    facets = r.json()["facets"]
    assert {t["name"]: t["count"] for t in facets["tags"]} == {"even": 3, "odd": 2}
    assert facets["types"] == [{"id": type_a, "count": 2}]
    r = await client.get(base + "&facets=colours", headers=owner.auth)
    assert r.status_code == 400
    # the document's pattern is the rule: what it allows is answered, the rest is a 400
    r = await client.get(base + "&facets=types,tags,types", headers=owner.auth)
    assert r.status_code == 200
    assert r.json()["facets"]["types"] == [{"id": type_a, "count": 2}]
    for bad in ("0", "", "tags,", "tags, types"):
        r = await client.get(base + f"&facets={bad}", headers=owner.auth)
        assert (r.status_code, r.json()["errors"][0]["field"]) == (400, "facets"), bad


async def test_edits_publish_what_changed_and_never_contents(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await custom_fields(client, owner, org, k="integer")
    doc = await uploaded(client, owner, org, pdf(b"secret words"), file_name="s.pdf")
    url = f"{DOCS}/{doc['id']}"
    r = await client.patch(
        url,
        json={"title": "Renamed", "tags": ["x"], "customFields": {"k": 1}},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], [t["name"] for t in body["tags"]], body["customFields"]) == (
        "Renamed",
        ["x"],
        {"k": 1},
    )
    assert body["updatedAt"] > doc["updatedAt"]
    r = await client.patch(url, json={"title": "Renamed"}, headers=owner.auth)  # no change
    assert r.status_code == 200
    r = await client.patch(url, json={"title": "   "}, headers=owner.auth)
    assert r.status_code == 422
    await add_version(client, owner, doc["id"], pdf(b"more secret words"), "t.pdf")
    await client.get(f"{url}/content", headers=owner.auth)

    (uploaded_event,) = await _payloads(database_url, "content.document.uploaded")
    assert uploaded_event["documentId"] == doc["id"]
    assert uploaded_event["organisationId"] == org
    assert uploaded_event["actorId"] == owner.user_id
    assert (uploaded_event["title"], uploaded_event["fileName"]) == ("s.pdf", "s.pdf")
    assert (uploaded_event["origin"], uploaded_event["originRef"]) == ("upload", None)
    (updated,) = await _payloads(database_url, "content.document.updated")
    assert (updated["changed"], updated["via"]) == (["title", "customFields", "tags"], "user")
    (version,) = await _payloads(database_url, "content.document.version_added")
    assert (version["version"], version["fileName"]) == (2, "t.pdf")
    (downloaded,) = await _payloads(database_url, "content.document.downloaded")
    assert downloaded["version"] == 2
    everything = await fetch(database_url, "SELECT payload FROM content.outbox")
    assert all("secret" not in r["payload"] for r in everything)
    assert all(doc["sha256"] not in r["payload"] for r in everything)


async def test_content_api_for_other_contexts(
    client: Client, database_url: str, content_api: ContentApi
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(client, owner, org, "plain", ["identity.org.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com")
    plain = await join(client, database_url, org, owner, "plain@example.com", ["plain"])
    await custom_fields(client, owner, org, status="string", score="integer")
    doc = await uploaded(client, owner, org, pdf(b"x"), tags=["one"])
    document_id = uuid.UUID(doc["id"])

    summary = await content_api.document(document_id)
    assert summary is not None
    assert (summary.title, summary.tags, summary.version) == ("report.pdf", ("one",), 1)
    assert await content_api.document(uuid.uuid4()) is None
    user = uuid.UUID
    assert await content_api.may_read(user(reader.user_id), document_id)
    assert not await content_api.may_edit(user(reader.user_id), document_id)
    assert not await content_api.may_read(user(plain.user_id), document_id)
    assert await content_api.may_edit(user(owner.user_id), document_id)

    changed = await content_api.set_metadata(
        document_id,
        actor="workflow:invoice-review",
        tags=["one", "reviewed"],
        custom_fields={"status": "ok"},
    )
    assert changed is not None
    assert (changed.tags, changed.custom_fields) == (("one", "reviewed"), {"status": "ok"})
    changed = await content_api.set_metadata(
        document_id, actor="ai", custom_fields={"status": None, "score": 3}
    )
    assert changed is not None
    assert changed.custom_fields == {"score": 3}
    events = await _payloads(database_url, "content.document.updated")
    assert [(e["via"], e["changed"]) for e in events] == [
        ("workflow:invoice-review", ["customFields", "tags"]),
        ("ai", ["customFields"]),
    ]
