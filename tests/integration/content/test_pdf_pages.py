"""Editing PDF pages through the API: rotate, delete and reorder as a new version; split
into new documents; merge into one. Real PDFs (made with pypdf), read back from the
stored bytes; bad page numbers, hostile files and missing rights change nothing."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pypdf import PdfReader, PdfWriter

from hub.content.domain.documents import MAX_COMMENT
from hub.worker import InProcessWorker
from tests.integration.content.support import (
    DOCS,
    custom_fields,
    document_type,
    role,
    uploaded,
)
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]


def pdf_of(*widths: int, encrypted: bool = False) -> bytes:
    """A PDF whose pages are told apart by their widths."""
    writer = PdfWriter()
    for width in widths:
        writer.add_blank_page(width=width, height=200)
    if encrypted:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pages_of(data: bytes) -> list[tuple[int, int]]:
    """Each page's (width, rotation)."""
    return [(int(p.mediabox.width), p.rotation) for p in PdfReader(io.BytesIO(data)).pages]


async def _content(
    client: Client, who: Person, document_id: str, version: int | None = None
) -> bytes:
    query = f"?version={version}" if version else ""
    r = await client.get(f"{DOCS}/{document_id}/content{query}", headers=who.auth)
    assert r.status_code == 200, r.text
    return r.content


async def _state(database_url: str) -> tuple[int, int, int]:
    """Documents, versions and blobs stored."""
    (row,) = await fetch(
        database_url,
        "SELECT (SELECT count(*) FROM content.documents) AS d,"
        " (SELECT count(*) FROM content.document_versions) AS v,"
        " (SELECT count(*) FROM content.blobs) AS b",
    )
    return int(row["d"]), int(row["v"]), int(row["b"])


async def _events(database_url: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await fetch(
        database_url,
        "SELECT event_type, payload FROM content.outbox WHERE event_type LIKE 'content.document.%'"
        " ORDER BY position",
    )
    return [(r["event_type"], json.loads(r["payload"])) for r in rows]


async def _owner_org(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def test_rotating_deleting_and_reordering_make_a_new_version(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    doc = await uploaded(client, owner, org, pdf_of(101, 102, 103, 104), title="Scan")
    r = await client.post(
        f"{DOCS}/{doc['id']}/pages",
        json={
            "operations": [
                {"kind": "delete", "pages": [2]},  # 101 103 104
                {"kind": "rotate", "pages": [1, 3], "degrees": 90},
                {"kind": "reorder", "order": [3, 1, 2]},  # 104 101 103
                {"kind": "rotate", "pages": [1], "degrees": 270},  # 104 back upright
            ]
        },
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["comment"]) == (2, "Pages edited")
    assert pages_of(await _content(client, owner, doc["id"])) == [(104, 0), (101, 90), (103, 0)]
    # the history keeps the original, and restoring it undoes the edit
    assert pages_of(await _content(client, owner, doc["id"], 1)) == [
        (101, 0),
        (102, 0),
        (103, 0),
        (104, 0),
    ]
    r = await client.post(f"{DOCS}/{doc['id']}/versions/1/restore", headers=owner.auth)
    assert r.status_code == 201, r.text
    assert len(pages_of(await _content(client, owner, doc["id"]))) == 4
    added = [p for t, p in await _events(database_url) if t == "content.document.version_added"]
    assert [p["version"] for p in added] == [2, 3]
    # an edit is extracted and previewed like any new version
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'kernel.job_requested'"
        " ORDER BY position",
    )
    jobs = [json.loads(r["payload"]) for r in rows]
    for job in ("content.extract_text", "content.make_thumbnail"):
        assert [j["args"][1] for j in jobs if j["job"] == job and j["args"][0] == doc["id"]] == [
            1,
            2,
            3,
        ], job


async def test_page_numbers_the_document_lacks_are_refused_naming_the_operation(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    doc = await uploaded(client, owner, org, pdf_of(101, 102, 103))
    before = await _state(database_url)
    url = f"{DOCS}/{doc['id']}/pages"
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([{"kind": "delete", "pages": [4]}], "operations[0].pages"),
        (
            [{"kind": "delete", "pages": [1]}, {"kind": "rotate", "pages": [3], "degrees": 90}],
            "operations[1].pages",
        ),
        ([{"kind": "delete", "pages": [1, 2, 3]}], "operations[0].pages"),  # nothing left
        ([{"kind": "reorder", "order": [1, 2]}], "operations[0].order"),
        ([{"kind": "reorder", "order": [1, 1, 2]}], "operations[0].order"),
    ]
    for operations, field in cases:
        r = await client.post(url, json={"operations": operations}, headers=owner.auth)
        assert r.status_code == 422, (operations, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == [field]
    for body in (
        {"operations": []},
        {"operations": [{"kind": "rotate", "pages": [1], "degrees": 45}]},
        {"operations": [{"kind": "flip", "pages": [1]}]},
        {"operations": [{"kind": "delete", "pages": [0]}]},
        {"operations": [{"kind": "delete", "pages": [1], "degrees": 90}]},
        {"operations": [{"kind": "delete", "pages": [1]}], "comment": "x" * (MAX_COMMENT + 1)},
    ):
        r = await client.post(url, json=body, headers=owner.auth)
        assert r.status_code == 400, (body, r.text)
    assert await _state(database_url) == before
    r = await client.get(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert r.json()["version"] == 1


async def test_hostile_or_foreign_files_are_refused_and_leave_nothing(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    text = await uploaded(client, owner, org, b"plain words\n", file_name="notes.txt")
    locked = await uploaded(client, owner, org, pdf_of(100, encrypted=True), title="locked")
    broken = await uploaded(
        client, owner, org, b"%PDF-1.7\n1 0 obj << /Type /Pages /Kids [1 0 R] >> endobj\n"
    )
    before = await _state(database_url)
    body = {"operations": [{"kind": "rotate", "pages": [1], "degrees": 180}]}
    r = await client.post(f"{DOCS}/{text['id']}/pages", json=body, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (422, "not_a_pdf")
    r = await client.post(f"{DOCS}/{locked['id']}/pages", json=body, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (422, "pdf_unreadable")
    assert r.json()["extra"]["reason"] == "encrypted"
    r = await client.post(
        f"{DOCS}/{broken['id']}/split", json={"parts": [{"from": 1, "to": 1}]}, headers=owner.auth
    )
    assert (r.status_code, r.json()["code"]) == (422, "pdf_unreadable")
    assert r.json()["extra"]["reason"] == "corrupt"
    huge = await uploaded(client, owner, org, pdf_of(*([100] * 2001)), title="huge")
    before = await _state(database_url)
    r = await client.post(f"{DOCS}/{huge['id']}/pages", json=body, headers=owner.auth)
    assert (r.status_code, r.json()["extra"]["reason"]) == (422, "too_large")
    assert await _state(database_url) == before
    # the trash: 409
    doc = await uploaded(client, owner, org, pdf_of(101, 102))
    r = await client.delete(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert r.status_code == 204
    r = await client.post(f"{DOCS}/{doc['id']}/pages", json=body, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "document_trashed")


async def test_split_makes_documents_of_the_parts_with_the_sources_metadata(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    kind = await document_type(client, owner, org, "Contract")
    await custom_fields(client, owner, org, amount="integer", related="document")
    other = await uploaded(client, owner, org, pdf_of(99), title="Annex")
    doc = await uploaded(
        client,
        owner,
        org,
        pdf_of(101, 102, 103, 104, 105),
        title="Bundle",
        tags=["Legal", "2027"],
        document_type_id=kind,
        custom_fields=json.dumps({"amount": 12, "related": [other["id"]]}),
    )
    url = f"{DOCS}/{doc['id']}/split"
    r = await client.post(
        url, json={"parts": [{"from": 1, "to": 2}, {"from": 4, "to": 4}]}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    first, second = r.json()["items"]
    assert (first["title"], second["title"]) == ("Bundle (pages 1-2)", "Bundle (page 4)")
    for part in (first, second):
        assert sorted(t["name"] for t in part["tags"]) == ["2027", "Legal"]
        assert part["documentTypeId"] == kind
        assert part["customFields"] == {"amount": 12}  # links stay with the source
        assert part["ownerId"] == owner.user_id
    assert pages_of(await _content(client, owner, first["id"])) == [(101, 0), (102, 0)]
    assert pages_of(await _content(client, owner, second["id"])) == [(104, 0)]
    # the source is unchanged
    assert len(pages_of(await _content(client, owner, doc["id"]))) == 5
    events = await _events(database_url)
    (split,) = [p for t, p in events if t == "content.document.split"]
    made = {p["documentId"]: (p["origin"], p["originRef"]) for t, p in events if "uploaded" in t}
    assert made[first["id"]] == made[second["id"]] == ("split", doc["id"])
    assert (split["documentId"], split["parts"], split["version"]) == (
        doc["id"],
        [first["id"], second["id"]],
        1,
    )
    # overlapping or out-of-range parts: 422 naming the part, nothing made
    before = await _state(database_url)
    for parts, field in (
        ([{"from": 1, "to": 3}, {"from": 3, "to": 4}], "parts[1]"),
        ([{"from": 2, "to": 6}], "parts[0].to"),
        ([{"from": 3, "to": 2}], "parts[0].to"),
    ):
        r = await client.post(url, json={"parts": parts}, headers=owner.auth)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    r = await client.post(url, json={"parts": [{"from": 0, "to": 1}]}, headers=owner.auth)
    assert r.status_code == 400
    assert await _state(database_url) == before


async def test_merge_joins_pdfs_in_order_and_checks_every_one(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    a = await uploaded(client, owner, org, pdf_of(101, 102), title="Letter", tags=["Mail"])
    b = await uploaded(client, owner, org, pdf_of(201), title="Reply")
    r = await client.post(
        f"{DOCS}/merge",
        json={"organisationId": org, "documentIds": [b["id"], a["id"]]},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    merged = r.json()
    assert (merged["title"], merged["tags"]) == ("Reply", [])
    assert pages_of(await _content(client, owner, merged["id"])) == [(201, 0), (101, 0), (102, 0)]
    r = await client.post(
        f"{DOCS}/merge",
        json={"organisationId": org, "documentIds": [a["id"], b["id"]], "title": "\u00a0Thread "},
        headers=owner.auth,
    )
    assert (r.json()["title"], [t["name"] for t in r.json()["tags"]]) == ("Thread", ["Mail"])
    events = await _events(database_url)
    merges = [p for t, p in events if t == "content.document.merged"]
    made = {p["documentId"]: (p["origin"], p["originRef"]) for t, p in events if "uploaded" in t}
    assert (made[merged["id"]], made[a["id"]]) == (("merge", b["id"]), ("upload", None))
    assert [(e["sources"], e["versions"]) for e in merges] == [
        ([b["id"], a["id"]], [1, 1]),
        ([a["id"], b["id"]], [1, 1]),
    ]

    elsewhere = (await create_org(client, owner, "Elsewhere"))["id"]
    foreign = await uploaded(client, owner, elsewhere, pdf_of(300))
    text = await uploaded(client, owner, org, b"words\n", file_name="a.txt")
    before = await _state(database_url)
    for ids, status, field in (
        ([a["id"], foreign["id"]], 422, "documentIds[1]"),
        ([a["id"], text["id"]], 422, "documentIds[1]"),
        ([a["id"], a["id"]], 400, "documentIds"),
    ):
        r = await client.post(
            f"{DOCS}/merge", json={"organisationId": org, "documentIds": ids}, headers=owner.auth
        )
        assert r.status_code == status, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert await _state(database_url) == before


async def test_rights_edit_for_pages_write_for_new_documents_and_404_outside(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    await role(client, owner, org, "readers", ["content.documents.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com", ["readers"])
    stranger = await person(client, database_url, "stranger@example.com")
    doc = await uploaded(client, owner, org, pdf_of(101, 102))
    other = await uploaded(client, owner, org, pdf_of(103))
    before = await _state(database_url)
    edit = {"operations": [{"kind": "delete", "pages": [1]}]}
    split = {"parts": [{"from": 1, "to": 1}]}
    merge = {"organisationId": org, "documentIds": [doc["id"], other["id"]]}
    r = await client.post(f"{DOCS}/{doc['id']}/pages", json=edit, headers=reader.auth)
    assert r.status_code == 403
    r = await client.post(f"{DOCS}/{doc['id']}/split", json=split, headers=reader.auth)
    assert r.status_code == 403
    r = await client.post(f"{DOCS}/merge", json=merge, headers=reader.auth)
    assert r.status_code == 403
    for method_url, body in (
        (f"{DOCS}/{doc['id']}/pages", edit),
        (f"{DOCS}/{doc['id']}/split", split),
        (f"{DOCS}/merge", merge),
    ):
        r = await client.post(method_url, json=body, headers=stranger.auth)
        assert r.status_code == 404, (method_url, r.text)
    assert await _state(database_url) == before


async def test_odd_bytes_through_a_real_server_change_nothing(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    doc = await uploaded(client, owner, org, pdf_of(101, 102))
    before = await _state(database_url)
    url = f"{DOCS}/{doc['id']}/pages"
    r = await client.post(
        url,
        json={"operations": [{"kind": "delete", "pages": [1]}], "comment": "bad\x00comment"},
        headers=owner.auth,
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["comment"]
    r = await client.post(
        url,
        content=b'{"operations": [{"kind": "delete", "pages": [1]}], "comment": "\xff\xfe"}',
        headers={**owner.auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    r = await client.post(
        f"{DOCS}/merge",
        json={"organisationId": org, "documentIds": [doc["id"], doc["id"]], "title": "\x00"},
        headers=owner.auth,
    )
    assert r.status_code in (400, 422), r.text
    assert await _state(database_url) == before


async def test_two_edits_at_once_never_undo_each_other(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    """Each edit is made from the version it read: one made from a version that is no
    longer current is refused (409 ``version_conflict``) rather than stored over the
    other, so every edit that succeeded is in the result."""
    client = live_client
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    doc = await uploaded(client, owner, org, pdf_of(101, 102, 103, 104))
    edit = {"operations": [{"kind": "delete", "pages": [1]}]}
    answers = await asyncio.gather(
        *(client.post(f"{DOCS}/{doc['id']}/pages", json=edit, headers=owner.auth) for _ in range(3))
    )
    done = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    assert done, [r.text for r in answers]
    assert {(r.status_code, r.json()["code"]) for r in refused} <= {(409, "version_conflict")}
    current = await _content(client, owner, doc["id"])
    assert len(pages_of(current)) == 4 - len(done)
    r = await client.get(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert r.json()["version"] == 1 + len(done)


async def test_what_is_made_from_a_restricted_document_starts_restricted(
    client: Client, database_url: str
) -> None:
    """Splitting or merging must not open a restricted document to the organisation:
    the new documents start restricted (their maker and content.admin read them)."""
    owner, org = await _owner_org(client, database_url)
    await role(client, owner, org, "clerks", ["content.documents.read", "content.documents.write"])
    clerk = await join(client, database_url, org, owner, "clerk@example.com", ["clerks"])
    other = await join(client, database_url, org, owner, "other@example.com", ["clerks"])
    secret = await uploaded(client, owner, org, pdf_of(101, 102), title="Secret")
    plain = await uploaded(client, owner, org, pdf_of(103), title="Plain")
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": [{"userId": clerk.user_id, "access": "view"}]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{DOCS}/{secret['id']}/split",
        json={"parts": [{"from": 1, "to": 1}]},
        headers=clerk.auth,
    )
    assert r.status_code == 201, r.text
    (part,) = r.json()["items"]
    assert part["restricted"] is True
    r = await client.post(
        f"{DOCS}/merge",
        json={"organisationId": org, "documentIds": [plain["id"], secret["id"]]},
        headers=clerk.auth,
    )
    assert r.status_code == 201, r.text
    merged = r.json()
    assert merged["restricted"] is True
    for made in (part, merged):
        assert (await client.get(f"{DOCS}/{made['id']}", headers=clerk.auth)).status_code == 200
        assert (await client.get(f"{DOCS}/{made['id']}", headers=other.auth)).status_code == 404
    # from unrestricted sources, the result is open like an upload
    r = await client.post(
        f"{DOCS}/{plain['id']}/split", json={"parts": [{"from": 1, "to": 1}]}, headers=clerk.auth
    )
    (open_part,) = r.json()["items"]
    assert open_part["restricted"] is False
    assert (await client.get(f"{DOCS}/{open_part['id']}", headers=other.auth)).status_code == 200


async def test_reading_pages_of_a_document_whose_type_audits_reads_is_in_the_trail(
    client: Client, database_url: str, events: InProcessWorker
) -> None:
    owner, org = await _owner_org(client, database_url)
    r = await client.post(
        f"{API}/orgs/{org}/document-types",
        json={"name": "Patient record", "auditReads": True},
        headers=owner.auth,
    )
    record = await uploaded(client, owner, org, pdf_of(101, 102), document_type_id=r.json()["id"])
    plain = await uploaded(client, owner, org, pdf_of(103))
    r = await client.post(
        f"{DOCS}/{record['id']}/split", json={"parts": [{"from": 2, "to": 2}]}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{DOCS}/merge",
        json={"organisationId": org, "documentIds": [plain["id"], record["id"]]},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    await events.drain()
    r = await client.get(
        f"{API}/audit",
        params={"organisationId": org, "action": "content.document.read", "limit": 100},
        headers=owner.auth,
    )
    reads = [(e["entityId"], e["summary"]["what"]) for e in r.json()["items"]]
    assert reads == [(record["id"], "pages"), (record["id"], "pages")]


async def test_a_retried_split_or_merge_with_its_key_makes_its_documents_once(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    a = await uploaded(client, owner, org, pdf_of(101, 102))
    b = await uploaded(client, owner, org, pdf_of(103))
    merge = {"organisationId": org, "documentIds": [a["id"], b["id"]]}
    headers = {**owner.auth, "Idempotency-Key": "merge-1"}
    first = await client.post(f"{DOCS}/merge", json=merge, headers=headers)
    again = await client.post(f"{DOCS}/merge", json=merge, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(f"{DOCS}/merge", json={**merge, "title": "Other"}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    split = {"parts": [{"from": 1, "to": 1}]}
    headers = {**owner.auth, "Idempotency-Key": "split-1"}
    first = await client.post(f"{DOCS}/{a['id']}/split", json=split, headers=headers)
    again = await client.post(f"{DOCS}/{a['id']}/split", json=split, headers=headers)
    assert [d["id"] for d in again.json()["items"]] == [d["id"] for d in first.json()["items"]]
    # the same key and body for another document is another request
    elsewhere = await client.post(f"{DOCS}/{b['id']}/split", json=split, headers=headers)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (422, "idempotency_key_reused")
    documents, _, _ = await _state(database_url)
    assert documents == 4  # a, b, one merge, one part


async def test_split_and_merge_may_trash_their_originals_in_the_same_transaction(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_org(client, database_url)
    await role(client, owner, org, "writers", ["content.documents.read", "content.documents.write"])
    writer = await join(client, database_url, org, owner, "writer@example.com", ["writers"])
    source = await uploaded(client, owner, org, pdf_of(101, 102))
    a = await uploaded(client, owner, org, pdf_of(103))
    b = await uploaded(client, owner, org, pdf_of(104))
    split = {"parts": [{"from": 1, "to": 1}, {"from": 2, "to": 2}], "deleteOriginal": True}
    merge = {"organisationId": org, "documentIds": [a["id"], b["id"]], "deleteOriginals": True}

    # refused before any work: no delete right (403), a source under legal hold (409)
    before = await _state(database_url)
    r = await client.post(f"{DOCS}/{source['id']}/split", json=split, headers=writer.auth)
    assert r.status_code == 403, r.text
    r = await client.post(f"{DOCS}/merge", json=merge, headers=writer.auth)
    assert r.status_code == 403, r.text
    r = await client.patch(f"{DOCS}/{b['id']}", json={"legalHold": True}, headers=owner.auth)
    assert r.status_code == 200, r.text
    r = await client.post(f"{DOCS}/merge", json=merge, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "legal_hold")
    assert await _state(database_url) == before
    r = await client.patch(f"{DOCS}/{b['id']}", json={"legalHold": False}, headers=owner.auth)
    assert r.status_code == 200, r.text

    r = await client.post(f"{DOCS}/{source['id']}/split", json=split, headers=owner.auth)
    assert r.status_code == 201, r.text
    parts = r.json()["items"]
    r = await client.post(f"{DOCS}/merge", json=merge, headers=owner.auth)
    assert r.status_code == 201, r.text
    merged = r.json()
    for original in (source, a, b):
        r = await client.get(f"{DOCS}/{original['id']}", headers=owner.auth)
        assert r.json()["trashedAt"] is not None, original["id"]
    for made in (*parts, merged):
        assert made["trashedAt"] is None
    trashed = [p["documentId"] for t, p in await _events(database_url) if t.endswith(".trashed")]
    assert trashed == [source["id"], a["id"], b["id"]]
    # the trash gives an original back
    r = await client.post(f"{DOCS}/{source['id']}/restore", headers=owner.auth)
    assert (r.status_code, r.json()["trashedAt"]) == (200, None)
