"""Tags, document types and custom-field definitions of an organisation; documents'
metadata checked against them; tenancy and permissions of every route."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.content.support import DOCS, pdf, upload, uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]


async def _setup(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def _post(client: Client, who: Person, url: str, body: dict[str, Any]) -> Any:
    r = await client.post(url, json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    return r.json()


async def _events(database_url: str, prefix: str) -> list[str]:
    rows = await fetch(
        database_url,
        "SELECT event_type FROM content.outbox WHERE event_type LIKE $1 ORDER BY position",
        prefix + "%",
    )
    return [r["event_type"] for r in rows]


async def test_tag_round_trip_nesting_and_events(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    base = f"{API}/orgs/{org}/tags"
    top = await _post(client, owner, base, {"name": "Finance", "colour": "#AA00ff"})
    assert (top["name"], top["parentId"], top["colour"]) == ("Finance", None, "#aa00ff")
    r = await client.post(base, json={"name": "finance"}, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "name_taken")
    r = await client.post(base, json={"name": "x", "colour": "red"}, headers=owner.auth)
    assert r.status_code == 422

    chain = [top]
    for level in range(2, 6):
        chain.append(
            await _post(client, owner, base, {"name": f"L{level}", "parentId": chain[-1]["id"]})
        )
    r = await client.post(
        base, json={"name": "L6", "parentId": chain[-1]["id"]}, headers=owner.auth
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "parentId"
    # moving a two-level subtree under level 4 would end at depth 6
    side = await _post(client, owner, base, {"name": "Side"})
    await _post(client, owner, base, {"name": "SideChild", "parentId": side["id"]})
    r = await client.patch(
        f"{base}/{side['id']}", json={"parentId": chain[3]["id"]}, headers=owner.auth
    )
    assert r.status_code == 422
    r = await client.patch(
        f"{base}/{top['id']}", json={"parentId": chain[2]["id"]}, headers=owner.auth
    )
    assert r.status_code == 422  # under its own descendant

    r = await client.patch(
        f"{base}/{side['id']}", json={"name": "Aside", "colour": None}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["colour"]) == ("Aside", None)
    r = await client.get(f"{base}/{side['id']}", headers=owner.auth)
    assert r.json()["name"] == "Aside"
    r = await client.get(f"{base}?limit=4", headers=owner.auth)
    first = r.json()
    assert len(first["items"]) == 4
    r = await client.get(f"{base}?limit=4&cursor={first['nextCursor']}", headers=owner.auth)
    assert len(first["items"]) + len(r.json()["items"]) == 7

    r = await client.delete(f"{base}/{side['id']}", headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "tag_has_children")
    assert await _events(database_url, "content.tag.") == ["content.tag.created"] * 7 + [
        "content.tag.updated"
    ]


async def test_deleting_a_tag_removes_it_from_documents(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    doc = await uploaded(client, owner, org, pdf(b"a"), tags=["Keep", "Drop"])
    drop = next(t["id"] for t in doc["tags"] if t["name"] == "Drop")
    r = await client.delete(f"{API}/orgs/{org}/tags/{drop}", headers=owner.auth)
    assert r.status_code == 204
    r = await client.get(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert [t["name"] for t in r.json()["tags"]] == ["Keep"]
    r = await client.get(f"{API}/orgs/{org}/tags/{drop}", headers=owner.auth)
    assert r.status_code == 404


async def test_document_types_round_trip_and_documents_refer_to_them(
    client: Client, database_url: str
) -> None:
    owner, org = await _setup(client, database_url)
    base = f"{API}/orgs/{org}/document-types"
    invoice = await _post(client, owner, base, {"name": "Invoice", "description": "Bills"})
    r = await client.patch(f"{base}/{invoice['id']}", json={"name": "Invoices"}, headers=owner.auth)
    assert (r.status_code, r.json()["name"], r.json()["description"]) == (200, "Invoices", "Bills")
    r = await client.get(base, headers=owner.auth)
    assert [t["name"] for t in r.json()["items"]] == ["Invoices"]

    other_org = (await create_org(client, owner, "Other"))["id"]
    foreign = await _post(client, owner, f"{API}/orgs/{other_org}/document-types", {"name": "X"})
    r = await upload(client, owner, org, pdf(b"x"), document_type_id=foreign["id"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "documentTypeId"
    doc = await uploaded(client, owner, org, pdf(b"y"), document_type_id=invoice["id"])
    assert doc["documentTypeId"] == invoice["id"]
    r = await client.patch(
        f"{DOCS}/{doc['id']}", json={"documentTypeId": foreign["id"]}, headers=owner.auth
    )
    assert r.status_code == 422

    r = await client.delete(f"{base}/{invoice['id']}", headers=owner.auth)
    assert r.status_code == 204
    r = await client.get(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert r.json()["documentTypeId"] is None
    assert await _events(database_url, "content.document_type.") == [
        "content.document_type.created",
        "content.document_type.updated",
        "content.document_type.created",
        "content.document_type.deleted",
    ]


async def test_a_custom_fields_type_cannot_change(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    base = f"{API}/orgs/{org}/custom-fields"
    field = await _post(client, owner, base, {"key": "amount", "name": "Amount", "type": "integer"})
    r = await client.patch(f"{base}/{field['id']}", json={"type": "string"}, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (422, "field_type_immutable")
    r = await client.patch(
        f"{base}/{field['id']}", json={"type": "integer", "name": "Total"}, headers=owner.auth
    )
    assert (r.status_code, r.json()["type"], r.json()["name"]) == (200, "integer", "Total")
    r = await client.post(
        base, json={"key": "amount", "name": "A", "type": "text"}, headers=owner.auth
    )
    assert (r.status_code, r.json()["code"]) == (409, "key_taken")
    r = await client.post(
        base, json={"key": "s", "name": "S", "type": "select"}, headers=owner.auth
    )
    assert r.status_code == 422  # a select needs options


VALUES: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("string", {}, "ACME", 5),
    ("text", {}, "long\ntext", ["x"]),
    ("integer", {}, 42, 4.5),
    ("number", {}, 12.5, "12.5"),
    ("monetary", {}, {"amount": "12.50", "currency": "EUR"}, {"amount": "1", "currency": "euro"}),
    ("date", {}, "2024-02-29", "2023-02-29"),
    ("boolean", {}, True, "yes"),
    ("url", {}, "https://example.com/x", "javascript:alert(1)"),
    ("select", {"options": ["open", "paid"]}, "paid", "lost"),
    ("member", {}, "OWNER", "0190a000-0000-7000-8000-000000000001"),
    ("document", {}, "DOC", "0190a000-0000-7000-8000-000000000001"),
]


@pytest.mark.parametrize(("kind", "extra", "good", "bad"), VALUES, ids=[v[0] for v in VALUES])
async def test_each_field_type_takes_its_values_only(
    client: Client, database_url: str, kind: str, extra: dict[str, Any], good: Any, bad: Any
) -> None:
    owner, org = await _setup(client, database_url)
    await _post(
        client,
        owner,
        f"{API}/orgs/{org}/custom-fields",
        {"key": "f", "name": "F", "type": kind, **extra},
    )
    target = await uploaded(client, owner, org, pdf(b"target"))
    other = await uploaded(client, owner, org, pdf(b"other"))  # a document may not link itself
    good = (
        {"OWNER": owner.user_id, "DOC": other["id"]}.get(good, good)
        if isinstance(good, str)
        else good
    )
    r = await client.patch(
        f"{DOCS}/{target['id']}", json={"customFields": {"f": good}}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    # a document link is a list of ids; one id (the field's first form) is a list of one
    assert r.json()["customFields"]["f"] == ([good] if kind == "document" else good)
    r = await client.patch(
        f"{DOCS}/{target['id']}", json={"customFields": {"f": bad}}, headers=owner.auth
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "customFields.f"
    r = await client.patch(
        f"{DOCS}/{target['id']}", json={"customFields": {"unknown": 1}}, headers=owner.auth
    )
    assert r.status_code == 422
    r = await upload(client, owner, org, pdf(b"u"), custom_fields='{"f": ' + _json(bad) + "}")
    assert r.status_code == 422


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


async def test_deleting_a_field_removes_its_values(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    base = f"{API}/orgs/{org}/custom-fields"
    field = await _post(client, owner, base, {"key": "n", "name": "N", "type": "integer"})
    await _post(client, owner, base, {"key": "m", "name": "M", "type": "integer"})
    doc = await uploaded(client, owner, org, pdf(b"d"), custom_fields='{"n": 1, "m": 2}')
    assert doc["customFields"] == {"n": 1, "m": 2}
    assert (await client.delete(f"{base}/{field['id']}", headers=owner.auth)).status_code == 204
    r = await client.get(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert r.json()["customFields"] == {"m": 2}


@pytest.mark.parametrize("path", ["tags", "document-types", "custom-fields"])
async def test_tenancy_matrix(client: Client, database_url: str, path: str) -> None:
    owner, org = await _setup(client, database_url)
    body = {"tags": {"name": "T"}, "document-types": {"name": "T"}}.get(
        path, {"key": "t", "name": "T", "type": "string"}
    )
    made = await _post(client, owner, f"{API}/orgs/{org}/{path}", body)
    base = f"{API}/orgs/{org}/{path}"
    member = await join(client, database_url, org, owner, "member@example.com", ["member"])
    outsider = await person(client, database_url, "outsider@example.com")

    r = await client.get(base, headers=member.auth)
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == [made["id"]]
    assert (await client.get(f"{base}/{made['id']}", headers=member.auth)).status_code == 200
    for call in (
        client.post(base, json=body, headers=member.auth),
        client.patch(f"{base}/{made['id']}", json={"name": "U"}, headers=member.auth),
        client.delete(f"{base}/{made['id']}", headers=member.auth),
    ):
        r = await call
        assert r.status_code == 403, r.text
    for call in (
        client.get(base, headers=outsider.auth),
        client.get(f"{base}/{made['id']}", headers=outsider.auth),
        client.post(base, json=body, headers=outsider.auth),
        client.patch(f"{base}/{made['id']}", json={"name": "U"}, headers=outsider.auth),
        client.delete(f"{base}/{made['id']}", headers=outsider.auth),
    ):
        r = await call
        assert r.status_code == 404, r.text
    # another organisation's id is not found through this one
    other = (await create_org(client, outsider, "Theirs"))["id"]
    theirs = await _post(client, outsider, f"{API}/orgs/{other}/{path}", body)
    assert (await client.get(f"{base}/{theirs['id']}", headers=owner.auth)).status_code == 404


async def test_documents_filter_by_a_tag_and_everything_under_it(
    client: Client, database_url: str
) -> None:
    owner, org = await _setup(client, database_url)
    base = f"{API}/orgs/{org}/tags"
    finance = await _post(client, owner, base, {"name": "Finance"})
    invoices = await _post(client, owner, base, {"name": "Invoices", "parentId": finance["id"]})
    await _post(client, owner, base, {"name": "2026", "parentId": invoices["id"]})
    other = await _post(client, owner, base, {"name": "Other"})
    docs = {
        name: (await uploaded(client, owner, org, pdf(name.encode()), tags=tags))["id"]
        for name, tags in (
            ("deep", ["2026"]),
            ("top", ["Finance"]),
            ("elsewhere", ["Other"]),
            ("both", ["Invoices", "Other"]),
            ("none", []),
        )
    }

    async def listed(query: str) -> set[str]:
        r = await client.get(f"{DOCS}?organisationId={org}&{query}", headers=owner.auth)
        assert r.status_code == 200, r.text
        return {next(k for k, v in docs.items() if v == d["id"]) for d in r.json()["items"]}

    assert await listed(f"tagTree={finance['id']}") == {"deep", "top", "both"}
    assert await listed(f"tagTree={invoices['id']}") == {"deep", "both"}
    assert await listed(f"tagTree={finance['id']}&tagTree={other['id']}") == {"both"}
    assert await listed(f"tagTree={finance['id']}&tag={other['id']}") == {"both"}
    # Another organisation's tag reaches nothing here.
    foreign_org = (await create_org(client, owner, "Elsewhere"))["id"]
    foreign = await _post(client, owner, f"{API}/orgs/{foreign_org}/tags", {"name": "Finance"})
    assert await listed(f"tagTree={foreign['id']}") == set()
    # More trees than the bound, or not an id: 400 naming the parameter.
    many = "&".join(f"tagTree={finance['id']}" for _ in range(11))
    r = await client.get(f"{DOCS}?organisationId={org}&{many}", headers=owner.auth)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "tagTree"
    r = await client.get(f"{DOCS}?organisationId={org}&tagTree=nope", headers=owner.auth)
    assert r.status_code == 400
    # Search takes the same filter, with the same bound.
    r = await client.get(f"{API}/search?organisationId={org}&q=report&{many}", headers=owner.auth)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "tagTree"
    r = await client.get(
        f"{API}/search?organisationId={org}&q=report&tagTree={finance['id']}", headers=owner.auth
    )
    assert r.status_code == 200, r.text
