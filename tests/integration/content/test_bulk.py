"""``POST /documents/bulk``: every operation on several documents; all or nothing (one
refused document changes nothing anywhere and publishes nothing); refusals naming each
document; the strict body; overlapping concurrent bulk edits through a real server."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.content.support import (
    DOCS,
    custom_fields,
    document_type,
    member_with,
    pdf,
    role,
    uploaded,
)
from tests.integration.identity.support import API, fetch, plain_dsn
from tests.integration.identity.support_orgs import Person, create_org, person

Client = AsyncTestClient[Litestar]
BULK = f"{DOCS}/bulk"


@dataclass
class World:
    org: str
    owner: Person  # the organisation's owner: content.admin
    editor: Person  # content.documents.read + write, nothing else
    docs: list[dict[str, Any]]  # three documents of the owner, unrestricted


async def _world(client: Any, database_url: str) -> World:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await role(client, owner, org, "editors", ["content.documents.read", "content.documents.write"])
    editor = await member_with(client, database_url, org, owner, "editor@example.com", ["editors"])
    docs = [
        await uploaded(client, owner, org, pdf(bytes([i])), title=f"doc {i}", tags=["keep"])
        for i in range(3)
    ]
    return World(org, owner, editor, docs)


@pytest.fixture
async def world(client: Client, database_url: str) -> World:
    return await _world(client, database_url)


async def bulk(
    client: Any, who: Person, org: str, ids: list[str], operation: dict[str, Any], **headers: str
) -> Any:
    return await client.post(
        BULK,
        json={"organisationId": org, "documentIds": ids, "operation": operation},
        headers={**who.auth, **headers},
    )


async def events(database_url: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await fetch(
        database_url, "SELECT event_type, payload FROM content.outbox ORDER BY position"
    )
    return [(r["event_type"], json.loads(r["payload"])) for r in rows]


async def state(database_url: str) -> list[Any]:
    """Everything a bulk edit could change: documents, their tags and shares, the tags."""
    queries = (
        "SELECT id, document_type_id, custom_fields, trashed_at, restricted, updated_at"
        " FROM content.documents ORDER BY id",
        "SELECT document_id, tag_id FROM content.document_tags ORDER BY 1, 2",
        "SELECT * FROM content.document_shares ORDER BY 1, 2, 3",
        "SELECT id, name FROM content.tags ORDER BY id",
        "SELECT count(*) FROM content.outbox",
    )
    return [[tuple(r) for r in await fetch(database_url, q)] for q in queries]


def ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["id"] for d in docs]


def tag_names(doc: dict[str, Any]) -> list[str]:
    return sorted(t["name"] for t in doc["tags"])


async def test_every_operation_changes_every_document(
    client: Client, database_url: str, world: World
) -> None:
    org, owner, docs = world.org, world.owner, world.docs
    named = ids(docs)
    before = len(await events(database_url))

    r = await bulk(client, owner, org, named, {"kind": "addTags", "tags": ["alpha", "Beta"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["updated"] == 3
    assert [d["id"] for d in body["items"]] == named  # request order
    assert all(tag_names(d) == ["Beta", "alpha", "keep"] for d in body["items"])
    # the same again changes nothing and publishes nothing
    again = await bulk(client, owner, org, named, {"kind": "addTags", "tags": ["ALPHA"]})
    assert (again.status_code, again.json()["updated"]) == (200, 0)
    published = (await events(database_url))[before:]
    assert [(t, p["documentId"], p["changed"]) for t, p in published] == [
        ("content.document.updated", i, ["tags"]) for i in named
    ]
    assert all(p["actorId"] == owner.user_id for _, p in published)

    # remove by name and by id; a document without the tag is left as it was
    beta = next(t["id"] for t in body["items"][0]["tags"] if t["name"] == "Beta")
    r = await bulk(client, owner, org, named[:2], {"kind": "removeTags", "tags": ["beta"]})
    assert (r.status_code, r.json()["updated"]) == (200, 2)
    r = await bulk(client, owner, org, named, {"kind": "removeTags", "tags": [beta, "alpha"]})
    assert (r.status_code, r.json()["updated"]) == (200, 3)
    assert all(tag_names(d) == ["keep"] for d in r.json()["items"])

    invoice = await document_type(client, owner, org)
    r = await bulk(
        client, owner, org, named, {"kind": "setDocumentType", "documentTypeId": invoice}
    )
    assert (r.status_code, r.json()["updated"]) == (200, 3)
    assert {d["documentTypeId"] for d in r.json()["items"]} == {invoice}
    r = await bulk(
        client, owner, org, named[:1], {"kind": "setDocumentType", "documentTypeId": None}
    )
    assert r.json()["items"][0]["documentTypeId"] is None

    await custom_fields(client, owner, org, amount="integer", ref="string")
    r = await client.patch(
        f"{DOCS}/{named[0]}", json={"customFields": {"ref": "A-1"}}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    op = {"kind": "setCustomField", "key": "amount", "value": 12}
    r = await bulk(client, owner, org, named, op)
    assert (r.status_code, r.json()["updated"]) == (200, 3)
    assert [d["customFields"] for d in r.json()["items"]] == [
        {"ref": "A-1", "amount": 12},  # the other field stays
        {"amount": 12},
        {"amount": 12},
    ]
    r = await bulk(client, owner, org, named, {**op, "value": None})
    assert [d["customFields"] for d in r.json()["items"]] == [{"ref": "A-1"}, {}, {}]

    r = await bulk(
        client,
        owner,
        org,
        named[:2],
        {"kind": "share", "userId": world.editor.user_id, "access": "edit"},
    )
    assert (r.status_code, r.json()["updated"]) == (200, 2)
    r = await client.get(f"{DOCS}/{named[0]}/permissions", headers=owner.auth)
    assert r.json() == {
        "restricted": False,
        "shares": [{"userId": world.editor.user_id, "access": "edit"}],
    }
    # view replaces the edit share of that user; the role share added beside it stays
    editors = next(
        x["id"]
        for x in (await client.get(f"{API}/orgs/{org}/roles", headers=owner.auth)).json()["items"]
        if x["name"] == "editors"
    )
    share = {"kind": "share", "roleId": editors, "access": "view"}
    assert (await bulk(client, owner, org, named[:1], share)).status_code == 200
    share = {"kind": "share", "userId": world.editor.user_id, "access": "view"}
    assert (await bulk(client, owner, org, named[:1], share)).status_code == 200
    r = await client.get(f"{DOCS}/{named[0]}/permissions", headers=owner.auth)
    assert r.json()["shares"] == [
        {"userId": world.editor.user_id, "access": "view"},
        {"roleId": editors, "access": "view"},
    ]
    shared = [p for t, p in await events(database_url) if t == "content.document.shared"]
    assert [(p["documentId"], p["userIds"], p["roleIds"]) for p in shared] == [
        (named[0], [world.editor.user_id], []),
        (named[1], [world.editor.user_id], []),
        (named[0], [world.editor.user_id], [editors]),
        (named[0], [world.editor.user_id], [editors]),
    ]

    r = await bulk(client, owner, org, named[:2], {"kind": "trash"})
    assert (r.status_code, r.json()["updated"]) == (200, 2)
    assert [d["trashedAt"] is not None for d in r.json()["items"]] == [True, True]
    r = await bulk(client, owner, org, named, {"kind": "trash"})  # two already there
    assert (r.status_code, r.json()["updated"]) == (200, 1)
    listing = await client.get(f"{DOCS}?organisationId={org}&trashed=true", headers=owner.auth)
    assert sorted(ids(listing.json()["items"])) == sorted(named)
    r = await bulk(client, owner, org, named, {"kind": "restore"})
    assert (r.status_code, r.json()["updated"]) == (200, 3)
    assert all(d["trashedAt"] is None for d in r.json()["items"])
    kinds = [t for t, _ in await events(database_url)]
    assert kinds.count("content.document.trashed") == 3
    assert kinds.count("content.document.restored") == 3


async def test_a_document_the_caller_may_not_edit_refuses_everything(
    client: Client, database_url: str, world: World
) -> None:
    org, owner, editor, docs = world.org, world.owner, world.editor, world.docs
    viewed, hidden = docs[1], docs[2]
    # restricted: the editor's role no longer opens them; `viewed` is shared with it (view)
    for doc, shares in ((viewed, [{"userId": editor.user_id, "access": "view"}]), (hidden, [])):
        r = await client.put(
            f"{DOCS}/{doc['id']}/permissions",
            json={"restricted": True, "shares": shares},
            headers=owner.auth,
        )
        assert r.status_code == 200, r.text
    before = await state(database_url)

    r = await bulk(client, editor, org, ids(docs[:2]), {"kind": "addTags", "tags": ["new"]})
    assert r.status_code == 403, r.text
    problem = r.json()
    assert problem["code"] == "permission_denied"
    assert problem["extra"]["documents"] == [
        {
            "id": viewed["id"],
            "status": 403,
            "code": "permission_denied",
            "reason": "Your role in this organisation does not allow this.",
            "permission": "content.documents.write",
        }
    ]
    assert viewed["id"] in problem["detail"]
    assert await state(database_url) == before  # the other document, the new tag: nothing

    # one the editor cannot see at all, one of nobody, one of another organisation: 404,
    # reported like any absent document; the readable refusal is listed beside them
    outsider = await person(client, database_url, "outsider@example.com")
    elsewhere = (await create_org(client, outsider, "Elsewhere"))["id"]
    foreign = await uploaded(client, outsider, elsewhere, pdf(b"foreign"))
    nobody = str(uuid.uuid4())
    before = await state(database_url)
    named = [docs[0]["id"], hidden["id"], viewed["id"], nobody, foreign["id"]]
    r = await bulk(client, editor, org, named, {"kind": "addTags", "tags": ["new"]})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    missing = {"status": 404, "code": "not_found", "reason": "No such document."}
    assert r.json()["extra"]["documents"] == [
        {"id": hidden["id"], **missing},
        {
            "id": viewed["id"],
            "status": 403,
            "code": "permission_denied",
            "reason": problem["extra"]["documents"][0]["reason"],
            "permission": "content.documents.write",
        },
        {"id": nobody, **missing},
        {"id": foreign["id"], **missing},
    ]
    # the owner of the foreign document gets the same answer in the organisation it is not in
    r = await bulk(client, outsider, elsewhere, [docs[0]["id"]], {"kind": "trash"})
    assert r.json()["extra"]["documents"] == [{"id": docs[0]["id"], **missing}]
    assert await state(database_url) == before

    # share needs content.documents.share, trash content.documents.delete: the editor has neither
    share = {"kind": "share", "userId": editor.user_id, "access": "edit"}
    for operation, permission in (
        (share, "content.documents.share"),
        ({"kind": "trash"}, "content.documents.delete"),
    ):
        r = await bulk(client, editor, org, [docs[0]["id"]], operation)
        (refusal,) = r.json()["extra"]["documents"]
        assert (r.status_code, refusal["code"], refusal["permission"]) == (
            403,
            "permission_denied",
            permission,
        )
    # not a member of the organisation named at all: 404 for the organisation
    r = await bulk(client, outsider, org, [docs[0]["id"]], {"kind": "trash"})
    assert (r.status_code, r.json()["detail"]) == (404, "No such organisation.")
    assert await state(database_url) == before


async def test_state_refusals_name_the_documents(
    client: Client, database_url: str, world: World
) -> None:
    org, owner, docs = world.org, world.owner, world.docs
    trashed, held = docs[1], docs[2]
    assert (await client.delete(f"{DOCS}/{trashed['id']}", headers=owner.auth)).status_code == 204
    r = await client.patch(f"{DOCS}/{held['id']}", json={"legalHold": True}, headers=owner.auth)
    assert r.status_code == 200
    before = await state(database_url)

    # a trashed document takes no metadata edit
    r = await bulk(client, owner, org, ids(docs), {"kind": "addTags", "tags": ["x"]})
    assert (r.status_code, r.json()["code"]) == (409, "document_trashed")
    assert [d["id"] for d in r.json()["extra"]["documents"]] == [trashed["id"]]
    # a legal hold blocks the trash; the other documents stay where they are
    r = await bulk(client, owner, org, [docs[0]["id"], held["id"]], {"kind": "trash"})
    assert (r.status_code, r.json()["code"]) == (409, "legal_hold")
    assert r.json()["extra"]["documents"] == [
        {
            "id": held["id"],
            "status": 409,
            "code": "legal_hold",
            "reason": "The document is under legal hold and cannot be deleted.",
        }
    ]
    # restoring what is not in the trash
    r = await bulk(client, owner, org, ids(docs), {"kind": "restore"})
    assert (r.status_code, r.json()["code"]) == (409, "document_not_trashed")
    assert [d["id"] for d in r.json()["extra"]["documents"]] == [docs[0]["id"], held["id"]]
    # a document already in the trash is no refusal of a bulk trash, the held one is
    r = await bulk(client, owner, org, [trashed["id"], held["id"]], {"kind": "trash"})
    assert (r.status_code, r.json()["code"]) == (409, "legal_hold")
    assert [d["id"] for d in r.json()["extra"]["documents"]] == [held["id"]]
    assert await state(database_url) == before
    assert (await client.get(f"{DOCS}/{docs[0]['id']}", headers=owner.auth)).json()[
        "trashedAt"
    ] is None


async def test_the_body_is_strict_and_limited(
    client: Client, database_url: str, world: World
) -> None:
    org, owner, docs = world.org, world.owner, world.docs
    one = [docs[0]["id"]]
    await custom_fields(client, owner, org, amount="integer", related="document")
    before = await state(database_url)
    many = [str(uuid.uuid4()) for _ in range(501)]
    bad_bodies: list[tuple[Any, str]] = [
        ({"organisationId": org, "documentIds": [], "operation": {"kind": "trash"}}, "documentIds"),
        (
            {"organisationId": org, "documentIds": many, "operation": {"kind": "trash"}},
            "documentIds",
        ),
        (
            {"organisationId": org, "documentIds": one * 2, "operation": {"kind": "trash"}},
            "documentIds",
        ),
        (
            {"organisationId": org, "documentIds": one, "operation": {"kind": "purge"}},
            "operation.kind",
        ),
        ({"organisationId": org, "documentIds": one, "operation": {"tags": ["x"]}}, "operation"),
        (
            {
                "organisationId": org,
                "documentIds": one,
                "operation": {"kind": "trash", "tags": ["x"]},
            },
            "operation",
        ),
        (
            {
                "organisationId": org,
                "documentIds": one,
                "operation": {"kind": "trash"},
                "dryRun": True,
            },
            "",
        ),
        (
            {
                "organisationId": org,
                "documentIds": one,
                "operation": {"kind": "addTags", "tags": []},
            },
            "operation.tags",
        ),
        (
            {
                "organisationId": org,
                "documentIds": one,
                "operation": {"kind": "setCustomField", "key": "amount"},
            },
            "operation",
        ),
        ({"documentIds": one, "operation": {"kind": "trash"}}, ""),
    ]
    for body, where in bad_bodies:
        r = await client.post(BULK, json=body, headers=owner.auth)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] == "validation_failed", r.text
        assert where in json.dumps(r.json()), (where, r.text)
    r = await client.post(
        BULK,
        json={"organisationId": org, "documentIds": one * 2, "operation": {"kind": "trash"}},
        headers=owner.auth,
    )
    assert r.json()["errors"] == [
        {
            "field": "documentIds",
            "message": f"Each document at most once; repeated: {one[0]}",
            "source": "body",
        }
    ]

    # 500 is the cap, not a refusal: 500 unknown ids are each named as not found
    r = await bulk(client, owner, org, many[:500], {"kind": "trash"})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert [d["id"] for d in r.json()["extra"]["documents"]] == many[:500]

    # matches the document, but a rule refuses it: 422 naming the field
    rules: list[tuple[dict[str, Any], str]] = [
        ({"kind": "removeTags", "tags": ["never-made"]}, "operation.tags"),
        ({"kind": "addTags", "tags": [str(uuid.uuid4())]}, "operation.tags"),
        (
            {"kind": "setDocumentType", "documentTypeId": str(uuid.uuid4())},
            "operation.documentTypeId",
        ),
        ({"kind": "setCustomField", "key": "undefined", "value": 1}, "customFields.undefined"),
        ({"kind": "setCustomField", "key": "amount", "value": "twelve"}, "customFields.amount"),
        # a link changes the linked document too: set per document, never in bulk
        (
            {"kind": "setCustomField", "key": "related", "value": [docs[0]["id"]]},
            "operation.key",
        ),
        ({"kind": "share", "access": "view"}, "operation"),
        (
            {
                "kind": "share",
                "userId": world.editor.user_id,
                "roleId": str(uuid.uuid4()),
                "access": "view",
            },
            "operation",
        ),
        ({"kind": "share", "userId": str(uuid.uuid4()), "access": "view"}, "operation.userId"),
    ]
    for operation, field in rules:
        r = await bulk(client, owner, org, one, operation)
        assert r.status_code == 422, (operation, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text
    # a document would pass 50 tags: each one named (422), and no tag was made
    fifty = {"kind": "addTags", "tags": [f"t{i}" for i in range(50)]}
    r = await bulk(client, owner, org, ids(docs), fifty)
    assert (r.status_code, r.json()["code"]) == (422, "too_many_tags")
    assert [d["id"] for d in r.json()["extra"]["documents"]] == ids(docs)
    assert await state(database_url) == before


async def test_idempotency_key_replays_the_first_answer(
    client: Client, database_url: str, world: World
) -> None:
    org, owner, docs = world.org, world.owner, world.docs
    op = {"kind": "addTags", "tags": ["once"]}
    first = await bulk(client, owner, org, ids(docs), op, **{"Idempotency-Key": "bulk-1"})
    count = len(await events(database_url))
    again = await bulk(client, owner, org, ids(docs), op, **{"Idempotency-Key": "bulk-1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(await events(database_url)) == count
    other = await bulk(client, owner, org, ids(docs[:1]), op, **{"Idempotency-Key": "bulk-1"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


async def test_the_document_states_the_strict_body(client: Client) -> None:
    document = (await client.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/v1/documents/bulk"]["post"]
    assert operation["operationId"] == "bulkEditDocuments"
    assert {"200", "400", "403", "404", "409", "422"} <= set(operation["responses"])
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    assert example["operation"] == {"kind": "addTags", "tags": ["invoice", "2026"]}
    schemas = document["components"]["schemas"]
    body = schemas["BulkIn"]
    assert body["additionalProperties"] is False
    assert body["required"] == ["documentIds", "operation", "organisationId"]
    assert body["properties"]["documentIds"] == {
        "items": {"type": "string", "format": "uuid"},
        "type": "array",
        "minItems": 1,
        "maxItems": 500,
        "uniqueItems": True,
    }
    kinds = {}
    for ref in body["properties"]["operation"]["oneOf"]:
        kind = schemas[ref["$ref"].rsplit("/", 1)[1]]
        assert kind["additionalProperties"] is False
        kinds[kind["properties"]["kind"]["const"]] = sorted(kind["properties"])
    assert kinds == {
        "addTags": ["kind", "tags"],
        "removeTags": ["kind", "tags"],
        "setDocumentType": ["documentTypeId", "kind"],
        "setCustomField": ["key", "kind", "value"],
        "trash": ["kind"],
        "restore": ["kind"],
        "share": ["access", "kind", "roleId", "userId"],
    }
    assert schemas["AddTagsOp"]["properties"]["tags"]["items"]["maxLength"] == 64
    assert schemas["AddTagsOp"]["properties"]["tags"]["maxItems"] == 50
    # strictness is the bulk body's own: lenient bodies keep accepting unknown fields
    assert "additionalProperties" not in schemas["PermissionsIn"]


async def _wait_for_lock_waiters(conn: Any, count: int) -> None:
    """Until ``count`` sessions wait for the locks ``conn`` holds (``pg_locks`` is live,
    unlike ``pg_stat_activity``, which a transaction sees as a snapshot). Each check is a
    query; bounded so a broken server fails the test instead of hanging it."""
    for _ in range(2000):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM (SELECT DISTINCT pid FROM pg_locks WHERE NOT granted) w"
            " WHERE pg_backend_pid() = ANY(pg_blocking_pids(w.pid))"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{count} bulk edits never waited for the locked rows")


async def test_overlapping_concurrent_bulk_edits_both_land(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    """Through a real server, both requests held at the row locks until the test lets
    them go: each then runs alone on the overlap, and both tag sets land on every
    document, with one event per document and request."""
    world = await _world(live_client, database_url)
    org, owner, docs = world.org, world.owner, world.docs
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        holder = conn.transaction()
        await holder.start()
        await conn.execute("SELECT 1 FROM content.documents FOR UPDATE")
        first = asyncio.ensure_future(
            bulk(live_client, owner, org, ids(docs[:2]), {"kind": "addTags", "tags": ["one"]})
        )
        second = asyncio.ensure_future(
            bulk(live_client, owner, org, ids(docs[1:]), {"kind": "addTags", "tags": ["two"]})
        )
        await _wait_for_lock_waiters(conn, 2)
        await holder.rollback()
        r1, r2 = await first, await second
    finally:
        await conn.close()
    assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)
    assert (r1.json()["updated"], r2.json()["updated"]) == (2, 2)
    stored = {
        d["id"]: tag_names(d)
        for d in (await live_client.get(f"{DOCS}?organisationId={org}", headers=owner.auth)).json()[
            "items"
        ]
    }
    assert stored == {
        docs[0]["id"]: ["keep", "one"],
        docs[1]["id"]: ["keep", "one", "two"],
        docs[2]["id"]: ["keep", "two"],
    }
    updated = [
        p["documentId"] for t, p in await events(database_url) if t == "content.document.updated"
    ]
    assert sorted(updated) == sorted([docs[0]["id"], docs[1]["id"], docs[1]["id"], docs[2]["id"]])

    # a bulk trash racing a bulk tag edit: whichever locks first, the other sees its
    # result — tags never land on a document the trash took meanwhile
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        holder = conn.transaction()
        await holder.start()
        await conn.execute("SELECT 1 FROM content.documents FOR UPDATE")
        tagging = asyncio.ensure_future(
            bulk(live_client, owner, org, ids(docs), {"kind": "addTags", "tags": ["late"]})
        )
        trashing = asyncio.ensure_future(
            bulk(live_client, owner, org, [docs[2]["id"]], {"kind": "trash"})
        )
        await _wait_for_lock_waiters(conn, 2)
        await holder.rollback()
        tagged, trashed = await tagging, await trashing
    finally:
        await conn.close()
    assert trashed.status_code == 200, trashed.text
    late = await fetch(
        database_url,
        "SELECT count(*) AS n FROM content.document_tags dt JOIN content.tags t"
        " ON t.id = dt.tag_id WHERE t.name = 'late'",
    )
    if tagged.status_code == 200:  # the tags went first, then the trash
        assert late[0]["n"] == 3
    else:  # the trash went first: the tag edit refused it, and changed nothing else
        assert (tagged.status_code, tagged.json()["code"]) == (409, "document_trashed")
        assert [d["id"] for d in tagged.json()["extra"]["documents"]] == [docs[2]["id"]]
        assert late[0]["n"] == 0
