"""Full-text search and autocomplete, black-box: relevance, language and accents,
web-search syntax, typo tolerance, consistency with every write (the next request sees
it), the permission rule over hits, snippets, facets and suggestions, safe snippets, and
refused input."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import asyncpg
import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content.domain.access import READ, Caller
from hub.content.models import outbox
from hub.content.repositories.documents import Filters
from hub.content.services import search_index
from hub.content.services.search import SearchService
from hub.kernel.pagination import encode_cursor
from hub.kernel.runtime import Kernel
from hub.kernel.store import Store
from tests.integration.content.support import (
    DOCS,
    custom_fields,
    document_type,
    pdf,
    role,
    uploaded,
)
from tests.integration.content.test_document_links import _waiting_on_locks
from tests.integration.identity.support import API, fetch, plain_dsn
from tests.integration.identity.support_orgs import Person, api_key, create_org, join, person

Client = AsyncTestClient[Litestar]
SEARCH = f"{API}/search"


async def search(
    client: Client, who: Person | dict[str, str], org: str, q: str, **params: Any
) -> dict[str, Any]:
    headers = who.auth if isinstance(who, Person) else who
    r = await client.get(SEARCH, params={"organisationId": org, "q": q, **params}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def titles(client: Client, who: Person | dict[str, str], org: str, q: str) -> list[str]:
    return [hit["title"] for hit in (await search(client, who, org, q))["items"]]


async def suggest(client: Client, who: Person | dict[str, str], org: str, q: str) -> list[str]:
    headers = who.auth if isinstance(who, Person) else who
    r = await client.get(
        f"{SEARCH}/autocomplete", params={"organisationId": org, "q": q}, headers=headers
    )
    assert r.status_code == 200, r.text
    return [f"{s['kind']}:{s['text']}" for s in r.json()["items"]]


async def note(client: Client, who: Person, document_id: str, text: str) -> str:
    r = await client.post(f"{DOCS}/{document_id}/notes", json={"text": text}, headers=who.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def patch(client: Client, who: Person, document_id: str, **body: Any) -> None:
    r = await client.patch(f"{DOCS}/{document_id}", json=body, headers=who.auth)
    assert r.status_code == 200, r.text


def marked(snippet: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", snippet)


async def test_relevance_syntax_and_snippets(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await custom_fields(client, owner, org, client_name="text")
    phrase = await uploaded(client, owner, org, pdf(), title="Memo one")
    await note(client, owner, phrase["id"], "The late payment penalty applies from May.")
    scattered = await uploaded(client, owner, org, pdf(), title="Memo two")
    await note(
        client,
        owner,
        scattered["id"],
        "Late deliveries were discussed at length by the board, and separately the "
        "committee reviewed how each payment is recorded.",
    )
    titled = await uploaded(client, owner, org, pdf(), title="Quarterly budget")
    in_notes = await uploaded(client, owner, org, pdf(), title="Minutes")
    await note(client, owner, in_notes["id"], "We talked about the budget.")
    in_field = await uploaded(
        client, owner, org, pdf(), title="Agreement", custom_fields='{"client_name": "Globex"}'
    )

    # a phrase outranks the same words scattered; both match
    found = await search(client, owner, org, "late payment")
    assert [h["id"] for h in found["items"]] == [phrase["id"], scattered["id"]]
    assert found["items"][0]["score"] > found["items"][1]["score"] > 0
    assert found["fuzzy"] is False
    assert found["nextCursor"] is None
    assert marked(found["items"][0]["snippet"]) == ["late", "payment"]
    # a title hit outranks a notes hit
    assert await titles(client, owner, org, "budget") == ["Quarterly budget", "Minutes"]
    # custom-field values are searchable (weight B)
    assert await titles(client, owner, org, "globex") == ["Agreement"]
    hit = (await search(client, owner, org, "globex"))["items"][0]
    assert (hit["id"], marked(hit["snippet"])) == (in_field["id"], ["Globex"])

    # web-search syntax: "a phrase", -exclusion, or
    assert await titles(client, owner, org, '"late payment"') == ["Memo one"]
    assert await titles(client, owner, org, "payment -penalty") == ["Memo two"]
    assert sorted(await titles(client, owner, org, "globex or penalty")) == [
        "Agreement",
        "Memo one",
    ]
    # stemming (English by default): "payments" finds "payment"
    assert await titles(client, owner, org, '"late payments"') == ["Memo one"]

    # equal scores: the most recently changed first
    await fetch(
        database_url,
        "UPDATE content.documents SET updated_at = now() - interval '1 day' WHERE id = $1",
        titled["id"],
    )
    twin = await uploaded(client, owner, org, pdf(), title="Quarterly budget")
    hits = (await search(client, owner, org, "quarterly"))["items"]
    assert [h["id"] for h in hits] == [twin["id"], titled["id"]]


async def test_accents_and_languages(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    member = await join(
        client,
        database_url,
        (org := (await create_org(client, owner))["id"]),
        owner,
        "member@example.com",
    )
    await uploaded(client, owner, org, pdf(), title="Café menu")
    await uploaded(client, owner, org, pdf(), title="Cafe opening hours")
    assert sorted(await titles(client, owner, org, "cafe")) == ["Cafe opening hours", "Café menu"]
    assert sorted(await titles(client, owner, org, "café")) == ["Cafe opening hours", "Café menu"]
    hit = (await search(client, owner, org, "cafe"))["items"]
    assert sorted(m for h in hit for m in marked(h["snippet"])) == ["Cafe", "Café"]

    # English by default: a French verb form is not stemmed to its participle (no full
    # text hit, only a typo-tolerant one)
    contract = await uploaded(client, owner, org, pdf(), title="Contrats signés")
    assert (await search(client, owner, org, "signer"))["fuzzy"] is True

    settings = f"{API}/orgs/{org}/search-settings"
    r = await client.get(settings, headers=member.auth)
    assert r.status_code == 200
    assert r.json()["language"] == "english"
    assert "french" in r.json()["languages"]
    # only content.admin changes it; an unknown language is refused; nothing changes
    r = await client.put(settings, json={"language": "french"}, headers=member.auth)
    assert r.status_code == 403
    r = await client.put(settings, json={"language": "klingon"}, headers=owner.auth)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "language"
    assert (await client.get(settings, headers=owner.auth)).json()["language"] == "english"

    r = await client.put(settings, json={"language": "french"}, headers=owner.auth)
    assert r.status_code == 200
    assert r.json()["language"] == "french"
    # existing documents were re-indexed in French at once
    found = await search(client, owner, org, "signer contrat")
    assert found["fuzzy"] is False
    hits = found["items"]
    assert [h["id"] for h in hits] == [contract["id"]]
    assert marked(hits[0]["snippet"]) == ["Contrats", "signés"]
    assert await titles(client, owner, org, "cafés") != []
    rows = await fetch(database_url, "SELECT search_language FROM content.organisation_settings")
    assert [r["search_language"] for r in rows] == ["french"]


async def test_typo_tolerance_and_autocomplete(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    contract = await uploaded(client, owner, org, pdf(), title="Supply contract 2024")
    await uploaded(client, owner, org, pdf(), title="Invoice March", tags=["Accounting"])
    contour = await uploaded(client, owner, org, pdf(), title="Contour map")

    # full text finds nothing for a typo: trigram matches on titles follow, closest first,
    # unmarked
    found = await search(client, owner, org, "contarct")
    assert found["fuzzy"] is True
    assert [h["id"] for h in found["items"]] == [contract["id"], contour["id"]]
    assert 0.01 > found["items"][0]["score"] > found["items"][1]["score"] > 0
    assert found["items"][0]["snippet"] == "Supply contract 2024"
    # ...and on tag names
    assert await titles(client, owner, org, "acounting") == ["Invoice March"]
    # full-text hits never mix with typo matches
    exact = await search(client, owner, org, "contract")
    assert exact["fuzzy"] is False
    assert [h["title"] for h in exact["items"]] == ["Supply contract 2024"]
    assert (await search(client, owner, org, "zzzqqq"))["items"] == []

    # autocomplete: prefixes of titles and tags, then inner words, then typos
    assert await suggest(client, owner, org, "con") == [
        "title:Contour map",
        "title:Supply contract 2024",
    ]
    assert await suggest(client, owner, org, "acc") == ["tag:Accounting"]
    assert await suggest(client, owner, org, "supply contarct") == ["title:Supply contract 2024"]
    assert await suggest(client, owner, org, "%") == []
    assert await suggest(client, owner, org, "INVO") == ["title:Invoice March"]

    # at most ten suggestions
    for n in range(12):
        await uploaded(client, owner, org, pdf(), title=f"Report {n:02d}")
    assert len(await suggest(client, owner, org, "report")) == 10


async def test_every_write_is_searchable_in_the_next_request(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await custom_fields(client, owner, org, ref="text")
    doc = await uploaded(client, owner, org, pdf(), title="Draft")
    did = doc["id"]

    await patch(client, owner, did, title="Lease renewal")
    assert await titles(client, owner, org, "renewal") == ["Lease renewal"]
    assert await titles(client, owner, org, "draft") == []

    await patch(client, owner, did, tags=["Warehouse"])
    assert await titles(client, owner, org, "warehouse") == ["Lease renewal"]
    await patch(client, owner, did, customFields={"ref": "Zebra-42"})
    assert await titles(client, owner, org, "zebra") == ["Lease renewal"]

    note_id = await note(client, owner, did, "Landlord wants a deposit.")
    assert await titles(client, owner, org, "landlord") == ["Lease renewal"]
    r = await client.delete(f"{DOCS}/{did}/notes/{note_id}", headers=owner.auth)
    assert r.status_code == 204
    assert await titles(client, owner, org, "landlord") == []

    assert (await client.delete(f"{DOCS}/{did}", headers=owner.auth)).status_code == 204
    assert await titles(client, owner, org, "renewal") == []
    assert await suggest(client, owner, org, "lease") == []
    assert (await client.post(f"{DOCS}/{did}/restore", headers=owner.auth)).status_code == 200
    assert await titles(client, owner, org, "renewal") == ["Lease renewal"]

    # a new version keeps the document searchable
    r = await client.post(
        f"{DOCS}/{did}/versions",
        files={"file": ("v2.pdf", pdf(b"2"), "application/octet-stream")},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    assert await titles(client, owner, org, "renewal") == ["Lease renewal"]

    # taxonomy changes reach every document they touch
    (tag,) = (await client.get(f"{API}/orgs/{org}/tags", headers=owner.auth)).json()["items"]
    r = await client.patch(
        f"{API}/orgs/{org}/tags/{tag['id']}", json={"name": "Depot"}, headers=owner.auth
    )
    assert r.status_code == 200
    assert await titles(client, owner, org, "warehouse") == []
    assert await titles(client, owner, org, "depot") == ["Lease renewal"]
    assert (
        await client.delete(f"{API}/orgs/{org}/tags/{tag['id']}", headers=owner.auth)
    ).status_code == 204
    assert await titles(client, owner, org, "depot") == []
    (field,) = (await client.get(f"{API}/orgs/{org}/custom-fields", headers=owner.auth)).json()[
        "items"
    ]
    r = await client.delete(f"{API}/orgs/{org}/custom-fields/{field['id']}", headers=owner.auth)
    assert r.status_code == 204
    assert await titles(client, owner, org, "zebra") == []

    # the stored row is what a fresh computation gives (nothing left over)
    (row,) = await fetch(
        database_url,
        "SELECT title_key, tags_key, body, terms::text AS terms FROM content.search_documents",
    )
    assert (row["title_key"], row["tags_key"], row["body"]) == ("lease renewal", "", "")
    assert row["terms"] == "'leas':1A 'renew':2A"

    # a purged document leaves no row
    assert (await client.delete(f"{DOCS}/{did}", headers=owner.auth)).status_code == 204
    r = await client.delete(f"{DOCS}/{did}/permanent", headers=owner.auth)
    assert r.status_code == 204
    assert await fetch(database_url, "SELECT 1 FROM content.search_documents") == []


async def test_only_what_the_caller_may_read(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    reader = await join(client, database_url, org, owner, "reader@example.com")
    await role(client, owner, org, "plain", ["identity.org.read"])
    plain = await join(client, database_url, org, owner, "plain@example.com", ["plain"])
    outsider = await person(client, database_url, "outsider@example.com")
    elsewhere = (await create_org(client, outsider, "Elsewhere"))["id"]
    kind = await document_type(client, owner, org)

    public = await uploaded(client, owner, org, pdf(), title="Orchid public", tags=["Flowers"])
    secret = await uploaded(
        client,
        owner,
        org,
        pdf(),
        title="Orchid secret",
        tags=["Flowers", "Hidden"],
        document_type_id=kind,
    )
    await note(client, owner, secret["id"], "orchid bulbs from the vault")
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200

    everything = {"facets": "tags,types"}
    seen = await search(client, owner, org, "orchid", **everything)
    assert sorted(h["title"] for h in seen["items"]) == ["Orchid public", "Orchid secret"]
    assert seen["facets"] == {
        "tags": [
            {"id": seen["facets"]["tags"][0]["id"], "name": "Flowers", "count": 2},
            {"id": seen["facets"]["tags"][1]["id"], "name": "Hidden", "count": 1},
        ],
        "types": [{"id": kind, "count": 1}],
    }

    # a reader: the restricted document is in no hit, snippet, facet or suggestion
    seen = await search(client, reader, org, "orchid", **everything)
    assert [h["id"] for h in seen["items"]] == [public["id"]]
    assert "vault" not in seen["items"][0]["snippet"]
    assert [(t["name"], t["count"]) for t in seen["facets"]["tags"]] == [("Flowers", 1)]
    assert seen["facets"]["types"] == []
    assert await titles(client, reader, org, "vault") == []
    assert await titles(client, reader, org, "orchd") == ["Orchid public"]  # typo path too
    assert await suggest(client, reader, org, "orchid") == ["title:Orchid public"]
    assert await suggest(client, reader, org, "hidd") == []
    assert await suggest(client, owner, org, "hidd") == ["tag:Hidden"]

    # sharing it with the reader shows it in the very next search
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": [{"userId": reader.user_id, "access": "view"}]},
        headers=owner.auth,
    )
    assert r.status_code == 200
    assert await titles(client, reader, org, "vault") == ["Orchid secret"]

    # a member without content.documents.read finds nothing; an outsider gets 404
    assert (await search(client, plain, org, "orchid", **everything)) == {
        "items": [],
        "limit": 20,
        "nextCursor": None,
        "fuzzy": True,
        "facets": {"tags": [], "types": []},
        "semantic": None,  # only mode=hybrid says how meaning took part
    }
    assert await suggest(client, plain, org, "orchid") == []
    for path in (SEARCH, f"{SEARCH}/autocomplete"):
        r = await client.get(path, params={"organisationId": org, "q": "x"}, headers=outsider.auth)
        assert r.status_code == 404
        assert r.json()["detail"] == "No such organisation."
        r = await client.get(path, params={"organisationId": org, "q": "x"})
        assert r.status_code == 401
    assert (await search(client, outsider, elsewhere, "orchid"))["items"] == []

    # API keys: held to their scopes
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200
    key = {"X-API-Key": (await api_key(client, reader, ["content.documents.read"]))["key"]}
    assert await titles(client, key, org, "orchid") == ["Orchid public"]
    key = {"X-API-Key": (await api_key(client, owner, ["content.documents.read"]))["key"]}
    assert sorted(await titles(client, key, org, "orchid")) == ["Orchid public", "Orchid secret"]
    # a key without the read scope reads nothing, not even what its owner owns
    key = {"X-API-Key": (await api_key(client, owner, ["identity.org.read"]))["key"]}
    assert await titles(client, key, org, "orchid") == []
    assert await suggest(client, key, org, "orchid") == []


async def test_snippets_are_safe_html(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    doc = await uploaded(client, owner, org, pdf(), title="<script>alert(1)</script> & budget")
    await note(
        client,
        owner,
        doc["id"],
        'The budget & more: 3 < 4 <script>alert("x")</script> <mark>fake</mark>',
    )

    (hit,) = (await search(client, owner, org, "budget"))["items"]
    assert hit["title"] == "<script>alert(1)</script> & budget"  # JSON text, not HTML
    snippet = hit["snippet"]
    # the one markup is the highlight; the text is escaped (PostgreSQL's headline drops
    # what looks like an HTML tag, keeping the words)
    assert marked(snippet) == ["budget"]
    bare_text = re.sub(r"</?mark>", "", snippet)
    assert "<" not in bare_text
    assert ">" not in bare_text
    assert " ".join(snippet.split()) == (
        "<mark>budget</mark> &amp; more: 3 &lt; 4 alert(&quot;x&quot;) fake"
    )

    # a title-only hit: the snippet is cut from the title, escaped the same way
    bare = await uploaded(client, owner, org, pdf(), title="Fish & chips <i>à la</i> carte")
    (hit,) = (await search(client, owner, org, "chips"))["items"]
    assert hit["id"] == bare["id"]
    assert " ".join(hit["snippet"].split()) == "Fish &amp; <mark>chips</mark> à la carte"


async def test_filters_facets_and_pages(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    writer = await join(client, database_url, org, owner, "writer@example.com", ["admin"])
    kind = await document_type(client, owner, org)
    a = await uploaded(client, owner, org, pdf(), title="Harbour alpha", tags=["North"])
    b = await uploaded(
        client, owner, org, pdf(), title="Harbour beta", tags=["South"], document_type_id=kind
    )
    c = await uploaded(client, writer, org, pdf(), title="Harbour gamma", tags=["North"])

    async def ids(**params: Any) -> list[str]:
        return sorted(
            h["id"] for h in (await search(client, owner, org, "harbour", **params))["items"]
        )

    north = (await search(client, owner, org, "harbour", facets="tags"))["facets"]["tags"]
    north_id = next(t["id"] for t in north if t["name"] == "North")
    assert [(t["name"], t["count"]) for t in north] == [("North", 2), ("South", 1)]
    assert await ids(tag=north_id) == sorted([a["id"], c["id"]])
    assert await ids(documentTypeId=kind) == [b["id"]]
    assert await ids(ownerId=writer.user_id) == [c["id"]]
    assert await ids(createdFrom="2999-01-01T00:00:00Z") == []
    assert await ids(createdTo="2999-01-01T00:00:00Z") == sorted([a["id"], b["id"], c["id"]])
    # facets count the filtered hits
    filtered = await search(client, owner, org, "harbour", tag=north_id, facets="tags,types")
    assert [(t["name"], t["count"]) for t in filtered["facets"]["tags"]] == [("North", 2)]
    assert filtered["facets"]["types"] == []

    # pages: the cursor carries on where the page ended, nothing twice
    first = await search(client, owner, org, "harbour", limit=2)
    assert len(first["items"]) == 2
    assert first["nextCursor"]
    rest = await search(client, owner, org, "harbour", limit=2, cursor=first["nextCursor"])
    assert rest["nextCursor"] is None
    assert sorted(h["id"] for h in first["items"] + rest["items"]) == sorted(
        [a["id"], b["id"], c["id"]]
    )
    # typo-tolerant pages keep to typo matches
    first = await search(client, owner, org, "harbuor", limit=2)
    assert first["fuzzy"] is True
    assert first["nextCursor"]
    rest = await search(client, owner, org, "harbuor", limit=2, cursor=first["nextCursor"])
    assert rest["fuzzy"] is True
    assert len(rest["items"]) == 1


async def test_bad_input_is_refused(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await uploaded(client, owner, org, pdf(), title="Anything")

    async def status(path: str = SEARCH, **params: Any) -> tuple[int, str]:
        r = await client.get(path, params={"organisationId": org, **params}, headers=owner.auth)
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        return r.status_code, r.json()["code"]

    for path in (SEARCH, f"{SEARCH}/autocomplete"):
        assert await status(path) == (400, "validation_failed")  # no q
        assert await status(path, q="") == (400, "validation_failed")
        assert await status(path, q="x" * 201) == (400, "validation_failed")
        assert await status(path, q="   ") == (422, "validation_failed")
    for path in (SEARCH, f"{SEARCH}/autocomplete"):
        assert await status(path, q="a\x00b") == (422, "validation_failed")  # no NUL in text
    assert await status(q="a", cursor="not a cursor!") == (400, "validation_failed")
    assert await status(q="a", cursor=encode_cursor("text", 5000)) == (422, "invalid_cursor")
    assert await status(q="a", cursor=encode_cursor("text", 0)) == (422, "invalid_cursor")
    assert await status(q="a", cursor=encode_cursor("other", 20)) == (422, "invalid_cursor")
    assert await status(q="a", cursor=encode_cursor("text", "20")) == (422, "invalid_cursor")
    assert await status(q="a", cursor=encode_cursor(20)) == (422, "invalid_cursor")
    assert await status(q="a", limit=0) == (400, "validation_failed")
    assert await status(q="a", facets="owners") == (400, "validation_failed")
    r = await client.get(SEARCH, params={"q": "a"}, headers=owner.auth)
    assert r.status_code == 400

    # the document states them
    spec = (await client.get("/api/openapi.json")).json()
    for path in ("/api/v1/search", "/api/v1/search/autocomplete"):
        responses = spec["paths"][path]["get"]["responses"]
        assert {"400", "401", "404", "422"} <= set(responses), path
    q = next(p for p in spec["paths"]["/api/v1/search"]["get"]["parameters"] if p["name"] == "q")
    assert (q["required"], q["schema"]["minLength"], q["schema"]["maxLength"]) == (True, 1, 200)


async def test_many_hits_rank_title_hits_and_recent_ones(
    client: Client, database_url: str, kernel: Kernel
) -> None:
    """Past the ranking window, a query ranks its best title/tag hits and its most recent
    hits (a window of 1 here, 500 in the app)."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    titled = await uploaded(client, owner, org, pdf(), title="Budget review")
    bodies = []
    for n in range(3):
        doc = await uploaded(client, owner, org, pdf(), title=f"Memo {n}")
        await note(client, owner, doc["id"], "the budget again")
        bodies.append(doc["id"])
    await fetch(
        database_url,
        "UPDATE content.documents SET updated_at = now() - interval '1 day' WHERE id = $1",
        titled["id"],
    )
    caller = Caller(
        organisation_id=uuid.UUID(org),
        user_id=uuid.UUID(owner.user_id),
        role_ids=frozenset(),
        granted=frozenset({READ}),
    )
    store = Store(kernel.db, outbox)
    narrow = await SearchService(store, rank_window=1).search(caller, "budget", Filters())
    assert [str(h["id"]) for h in narrow.page.items] == [titled["id"], bodies[-1]]
    whole = await SearchService(store).search(caller, "budget", Filters())
    assert [str(h["id"]) for h in whole.page.items] == [titled["id"], *reversed(bodies)]


async def test_concurrent_writers_leave_the_row_current(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    """Through a real server. Another writer has added a note and refreshed the row (as the
    app does) but not committed; a note added over HTTP meanwhile waits for it (the
    refresh's advisory lock) and then recomputes from both notes, instead of writing a row
    computed before the first note was visible."""
    client: Any = live_client
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    doc = await uploaded(client, owner, org, pdf(), title="Shared memo")
    holder = await asyncpg.connect(plain_dsn(database_url))
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "INSERT INTO content.notes (id, document_id, author_id, body, created_at)"
            " VALUES ($1, $2, $3, 'first note about zebras', now())",
            uuid.uuid4(),
            uuid.UUID(doc["id"]),
            uuid.UUID(owner.user_id),
        )
        await holder.execute(
            search_index._LOCK.text.replace(":ids", "$1").replace(":space", "$2"),
            [uuid.UUID(doc["id"])],
            search_index.LOCK_SPACE,
        )
        await holder.execute(
            search_index._REFRESH.text.replace(":ids", "$1::uuid[]"), [uuid.UUID(doc["id"])]
        )
        second = asyncio.ensure_future(
            client.post(
                f"{DOCS}/{doc['id']}/notes",
                json={"text": "second note about yaks"},
                headers=owner.auth,
            )
        )
        await _waiting_on_locks(database_url, 1)
        await transaction.commit()
        assert (await second).status_code == 201
    finally:
        await holder.close()
    assert await titles(client, owner, org, "zebras") == ["Shared memo"]
    assert await titles(client, owner, org, "yaks") == ["Shared memo"]
