"""Custom-field filters of the document list: ``field=key:op:value``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.content.support import DOCS, custom_fields, pdf, role, uploaded
from tests.integration.identity.support_orgs import create_org, join, person

Client = AsyncTestClient[Litestar]


async def test_equality_and_ranges_on_typed_fields(client: Client, database_url: str) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await client.post(
        f"/api/v1/orgs/{org}/custom-fields",
        json={"key": "status", "name": "Status", "type": "select", "options": ["open", "paid"]},
        headers=owner.auth,
    )
    await custom_fields(
        client,
        owner,
        org,
        amount="integer",
        rate="number",
        price="monetary",
        due="date",
        urgent="boolean",
        ref="string",
        related="document",
    )
    rows: list[tuple[str, dict[str, Any]]] = [
        ("a", {"amount": 5, "rate": 1.5, "due": "2026-01-10", "status": "open", "urgent": True}),
        ("b", {"amount": 50, "rate": 2, "due": "2026-03-01", "status": "paid", "ref": "x:1"}),
        ("c", {"amount": 500, "price": {"amount": "99.90", "currency": "EUR"}}),
        ("d", {"price": {"amount": "1000", "currency": "USD"}, "urgent": False}),
        ("e", {}),
    ]
    docs = {}
    for title, values in rows:
        docs[title] = await uploaded(
            client, owner, org, pdf(title.encode()), title=title, custom_fields=json.dumps(values)
        )
    linked = await uploaded(
        client,
        owner,
        org,
        pdf(b"f"),
        title="f",
        custom_fields=json.dumps({"related": [docs["a"]["id"]]}),
    )

    async def titles(*conditions: str) -> list[str]:
        query = "".join(f"&field={quote(c)}" for c in conditions)
        r = await client.get(f"{DOCS}?organisationId={org}&sort=title{query}", headers=owner.auth)
        assert r.status_code == 200, r.text
        return [d["title"] for d in r.json()["items"]]

    assert await titles("amount:eq:50") == ["b"]
    assert await titles("amount:gte:50") == ["b", "c"]
    assert await titles("amount:lt:500", "amount:gt:5") == ["b"]  # all conditions apply
    assert await titles("rate:eq:2.0") == ["b"]  # 2 stored, 2.0 asked: the same number
    assert await titles("rate:lte:1.5") == ["a"]
    assert await titles("price:gt:100") == ["d"]  # by amount, whatever the currency
    assert await titles("price:eq:99.9") == ["c"]
    assert await titles("due:lt:2026-02-01") == ["a"]
    assert await titles("due:gte:2026-01-10") == ["a", "b"]
    assert await titles("status:eq:paid") == ["b"]
    assert await titles("urgent:eq:true") == ["a"]
    assert await titles("urgent:eq:false") == ["d"]
    assert await titles("ref:eq:x:1") == ["b"]  # the value may hold colons
    # a link field: the documents linking to that one (both directions are kept)
    assert await titles(f"related:eq:{docs['a']['id']}") == ["f"]
    assert await titles(f"related:eq:{linked['id']}") == ["a"]

    # a value the field could never hold, an unknown key, order on an unordered type: 422
    for bad in (
        "amount:eq:ten",
        "amount:gt:1.5",
        "due:lt:2026-13-01",
        "status:eq:lost",
        "urgent:eq:yes",
        "nope:eq:1",
        "status:gt:open",
        "related:eq:not-an-id",
    ):
        r = await client.get(f"{DOCS}?organisationId={org}&field={quote(bad)}", headers=owner.auth)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == "field", bad
    # off the documented pattern, or too many: 400
    for bad_query in ("&field=amount", "&field=amount:like:5", "&field=1x:eq:1", "&field=a:eq:"):
        r = await client.get(f"{DOCS}?organisationId={org}{bad_query}", headers=owner.auth)
        assert (r.status_code, r.json()["errors"][0]["field"]) == (400, "field"), bad_query
    eleven = "".join("&field=amount:gt:1" for _ in range(11))
    r = await client.get(f"{DOCS}?organisationId={org}{eleven}", headers=owner.auth)
    assert r.status_code == 400


async def test_counts_and_matches_never_include_unreadable_documents(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(client, owner, org, "readers", ["content.documents.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com", ["readers"])
    await custom_fields(client, owner, org, amount="integer")
    await uploaded(
        client, owner, org, pdf(b"1"), title="open", custom_fields=json.dumps({"amount": 7})
    )
    hidden = await uploaded(
        client, owner, org, pdf(b"2"), title="hidden", custom_fields=json.dumps({"amount": 7})
    )
    r = await client.put(
        f"{DOCS}/{hidden['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    url = f"{DOCS}?organisationId={org}&field=amount:eq:7&facets=tags"
    mine = await client.get(url, headers=owner.auth)
    theirs = await client.get(url, headers=reader.auth)
    assert sorted(d["title"] for d in mine.json()["items"]) == ["hidden", "open"]
    assert [d["title"] for d in theirs.json()["items"]] == ["open"]
    # another organisation's field names nothing here
    stranger = await person(client, database_url, "stranger@example.com")
    r = await client.get(url, headers=stranger.auth)
    assert r.status_code == 404


async def test_the_document_states_each_condition_pattern(client: Client) -> None:
    """Litestar cannot check a pattern on a list; the handler does, and the document says
    so on each value (no null: an absent parameter is no condition)."""
    spec = (await client.get("/api/openapi.json")).json()
    (field,) = [
        p for p in spec["paths"]["/api/v1/documents"]["get"]["parameters"] if p["name"] == "field"
    ]
    schema = field["schema"]
    assert schema["type"] == "array"
    assert schema["maxItems"] == 10
    assert schema["items"]["type"] == "string"
    assert schema["items"]["pattern"].startswith("^[A-Za-z]")
    assert "oneOf" not in schema
