"""Audited reads: a document type with ``auditReads`` puts every read of its documents in
the audit trail (``content.document.read``: who, which document, what was read, the
request's correlation id), workflow's insights included; documents of other types are read
without a trace beyond the download's own event."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.worker import InProcessWorker
from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import create_org, join, person

Client = AsyncTestClient[Litestar]
READ = "content.document.read"


async def trail(client: Client, who: Any, org: str, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(
        f"{API}/audit",
        params={"organisationId": org, "limit": 100, **params},
        headers=who.auth,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_reads_of_a_document_whose_type_audits_reads_are_in_the_trail(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    reader = await join(client, database_url, org, owner, "reader@example.com", ["member"])
    outsider = await person(client, database_url, "outsider@example.com")
    r = await client.post(
        f"{API}/orgs/{org}/document-types",
        json={"name": "Patient record", "auditReads": True},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    audited_type = r.json()
    assert audited_type["auditReads"] is True
    r = await client.post(
        f"{API}/orgs/{org}/document-types", json={"name": "Leaflet"}, headers=owner.auth
    )
    assert r.json()["auditReads"] is False
    plain_type = r.json()["id"]
    record = await uploaded(client, owner, org, pdf(b"record"), document_type_id=audited_type["id"])
    leaflet = await uploaded(client, owner, org, pdf(b"leaflet"), document_type_id=plain_type)
    untyped = await uploaded(client, owner, org, pdf(b"untyped"))

    # the last one is workflow's (document intelligence), audited through ContentApi
    reads = ("", "/versions", "/permissions", "/notes", "/content", "/insights")
    for doc in (record, leaflet, untyped):
        for i, tail in enumerate(reads):
            r = await client.get(
                f"{DOCS}/{doc['id']}{tail}",
                headers={**reader.auth, "X-Request-Id": f"req-{doc['id']}-{i}"},
            )
            assert r.status_code == 200, (tail, r.text)
    r = await client.get(f"{DOCS}/{record['id']}", headers=outsider.auth)
    assert r.status_code == 404  # not a read: nothing recorded
    await events.drain()

    viewed = await trail(client, owner, org, action=READ)
    assert {e["entityId"] for e in viewed} == {record["id"]}
    assert sorted(e["summary"]["what"] for e in viewed) == [
        "insights",
        "metadata",
        "notes",
        "permissions",
        "versions",
    ]
    for entry in viewed:
        assert (entry["actorId"], entry["actorType"]) == (reader.user_id, "user")
        assert entry["entityType"] == "document"
    (first,) = await trail(client, owner, org, correlationId=f"req-{record['id']}-0")
    assert (first["action"], first["summary"]["what"]) == (READ, "metadata")
    # the file itself: the download event, as for every document
    (fetched,) = await trail(client, owner, org, correlationId=f"req-{record['id']}-4")
    assert fetched["action"] == "content.document.downloaded"

    # turned off, reads leave no trace again; turned on for another type, they do
    r = await client.patch(
        f"{API}/orgs/{org}/document-types/{audited_type['id']}",
        json={"auditReads": False},
        headers=owner.auth,
    )
    assert (r.status_code, r.json()["auditReads"]) == (200, False)
    r = await client.patch(
        f"{API}/orgs/{org}/document-types/{plain_type}",
        json={"auditReads": True},
        headers=owner.auth,
    )
    assert r.json()["auditReads"] is True
    for doc in (record, leaflet):
        assert (await client.get(f"{DOCS}/{doc['id']}", headers=reader.auth)).status_code == 200
    await events.drain()
    viewed = await trail(client, owner, org, action=READ)
    assert [e["entityId"] for e in viewed].count(record["id"]) == 5
    assert [e["entityId"] for e in viewed].count(leaflet["id"]) == 1
    # turning the audit off (or on) is itself in the trail
    updates = await trail(client, owner, org, action="content.document_type.updated")
    assert {(e["summary"]["name"], e["summary"]["auditReads"]) for e in updates} == {
        ("Patient record", False),
        ("Leaflet", True),
    }

    r = await client.get(f"{API}/audit/verify", params={"organisationId": org}, headers=owner.auth)
    assert r.json()["ok"] is True, r.json()


async def test_a_member_without_the_taxonomy_permission_cannot_turn_audit_off(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "member@example.com", ["member"])
    r = await client.post(
        f"{API}/orgs/{org}/document-types",
        json={"name": "Patient record", "auditReads": True},
        headers=owner.auth,
    )
    kind = r.json()["id"]
    r = await client.patch(
        f"{API}/orgs/{org}/document-types/{kind}",
        json={"auditReads": False},
        headers=member.auth,
    )
    assert r.status_code == 403
    r = await client.patch(
        f"{API}/orgs/{org}/document-types/{kind}", json={"auditReads": "no"}, headers=owner.auth
    )
    assert r.status_code == 400
    r = await client.get(f"{API}/orgs/{org}/document-types/{kind}", headers=member.auth)
    assert r.json()["auditReads"] is True
