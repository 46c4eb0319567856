"""Document links (``document`` custom fields) kept in both directions, over HTTP: set on
upload and PATCH, mirrored on the other document, refused when they name what the caller
may not read, hidden from readers who may not follow them, removed when a document is
deleted for good, and safe under concurrent edits of both sides."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.content.services.trash import TrashService
from hub.kernel.clock import MovableClock
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from tests.integration.content.support import (
    DOCS,
    custom_fields,
    member_with,
    pdf,
    role,
    upload,
    uploaded,
)
from tests.integration.identity.support import API, fetch, plain_dsn
from tests.integration.identity.support_orgs import Person, create_org, person

Client = AsyncTestClient[Litestar]


async def _setup(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await custom_fields(client, owner, org, see="document", also="document", n="integer")
    return owner, org


async def _fields(client: Client, who: Person, doc: dict[str, Any] | str) -> Any:
    doc_id = doc if isinstance(doc, str) else doc["id"]
    r = await client.get(f"{DOCS}/{doc_id}", headers=who.auth)
    assert r.status_code == 200, r.text
    return r.json()["customFields"]


async def _patch(client: Client, who: Person, doc: dict[str, Any], fields: Any) -> Any:
    return await client.patch(
        f"{DOCS}/{doc['id']}", json={"customFields": fields}, headers=who.auth
    )


async def _updates(database_url: str) -> list[dict[str, Any]]:
    """``content.document.updated`` payloads, in commit order."""
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.updated' "
        "ORDER BY position",
    )
    return [json.loads(r["payload"]) for r in rows]


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, list[str], str | None]]:
    return [(e["documentId"], e["changed"], e["linkedFrom"]) for e in events]


async def test_links_are_kept_in_both_directions(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    a = await uploaded(client, owner, org, pdf(b"a"))
    b = await uploaded(client, owner, org, pdf(b"b"), custom_fields=json.dumps({"see": [a["id"]]}))
    assert b["customFields"] == {"see": [a["id"]]}
    assert await _fields(client, owner, a) == {"see": [b["id"]]}
    # the upload published the reverse side's change, caused by b
    assert _summary(await _updates(database_url)) == [(a["id"], ["customFields"], b["id"])]

    c = await uploaded(client, owner, org, pdf(b"c"))
    r = await _patch(client, owner, c, {"see": [a["id"], b["id"], a["id"]], "n": 1})
    assert r.status_code == 200, r.text
    assert r.json()["customFields"] == {"see": [a["id"], b["id"]], "n": 1}  # folded, in order
    assert await _fields(client, owner, a) == {"see": [b["id"], c["id"]]}
    assert await _fields(client, owner, b) == {"see": [a["id"], c["id"]]}
    events = await _updates(database_url)
    assert _summary(events[1:]) == [
        (c["id"], ["customFields"], None),
        (a["id"], ["customFields"], c["id"]),
        (b["id"], ["customFields"], c["id"]),
    ]
    assert {e["actorId"] for e in events[1:]} == {owner.user_id}

    # dropping a link drops its reverse; one field's links are not another's
    r = await _patch(client, owner, c, {"see": [b["id"]], "also": a["id"]})  # one id: a list
    assert r.json()["customFields"] == {"see": [b["id"]], "also": [a["id"]]}
    assert await _fields(client, owner, a) == {"see": [b["id"]], "also": [c["id"]]}
    assert await _fields(client, owner, b) == {"see": [a["id"], c["id"]]}
    r = await _patch(client, owner, c, {"see": [], "also": None})
    assert r.json()["customFields"] == {}
    assert await _fields(client, owner, a) == {"see": [b["id"]]}
    assert await _fields(client, owner, b) == {"see": [a["id"]]}
    # an edit that changes nothing publishes nothing
    before = len(await _updates(database_url))
    assert (await _patch(client, owner, b, {"see": [a["id"]]})).status_code == 200
    assert len(await _updates(database_url)) == before


async def test_bad_links_are_refused_and_change_nothing(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    a = await uploaded(client, owner, org, pdf(b"a"))
    b = await uploaded(client, owner, org, pdf(b"b"), custom_fields=json.dumps({"see": [a["id"]]}))
    elsewhere = (await create_org(client, owner, "Elsewhere"))["id"]
    foreign = await uploaded(client, owner, elsewhere, pdf(b"foreign"))
    trashed = await uploaded(client, owner, org, pdf(b"t"))
    assert (await client.delete(f"{DOCS}/{trashed['id']}", headers=owner.auth)).status_code == 204
    unknown = "0190a000-0000-7000-8000-000000000001"
    events = len(await _updates(database_url))

    cases = [
        ([a["id"]], "see: a document cannot link to itself."),
        ([foreign["id"]], f"see: no document {foreign['id']} here."),
        ([b["id"], unknown], f"see: no document {unknown} here."),
        ([trashed["id"]], f"see: document {trashed['id']} is in the trash."),
        ([b["id"], 7], "see: must be a list of document ids."),
    ]
    for value, message in cases:
        r = await _patch(client, owner, a, {"see": value})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "validation_failed"
        assert r.json()["errors"][0]["field"] == "customFields.see"
        assert r.json()["errors"][0]["message"] == message
    many = [f"0190a000-0000-7000-8000-{n:012d}" for n in range(51)]
    r = await _patch(client, owner, a, {"see": many})
    assert (r.status_code, r.json()["errors"][0]["message"]) == (422, "see: at most 50 documents.")
    r = await upload(client, owner, org, pdf(b"x"), custom_fields=json.dumps({"see": [unknown]}))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "customFields.see")

    assert await _fields(client, owner, a) == {"see": [b["id"]]}
    assert await _fields(client, owner, b) == {"see": [a["id"]]}
    assert await _fields(client, owner, trashed) == {}
    assert len(await _updates(database_url)) == events
    rows = await fetch(
        database_url, "SELECT count(*) AS n FROM content.documents WHERE organisation_id = $1", org
    )
    assert rows[0]["n"] == 3  # the refused upload left no document


async def test_readers_see_only_links_they_may_follow(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    await role(client, owner, org, "editors", ["content.documents.read", "content.documents.write"])
    editor = await member_with(client, database_url, org, owner, "ed@example.com", ["editors"])
    secret = await uploaded(client, owner, org, pdf(b"secret"))
    r = await client.put(
        f"{DOCS}/{secret['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    b = await uploaded(client, owner, org, pdf(b"b"))
    c = await uploaded(client, owner, org, pdf(b"c"))
    assert (await _patch(client, owner, secret, {"see": [b["id"]]})).status_code == 200

    # the editor reads b, not secret: b's link to secret is not shown, anywhere
    assert await _fields(client, owner, b) == {"see": [secret["id"]]}
    assert await _fields(client, editor, b) == {}
    listed = await client.get(f"{DOCS}?organisationId={org}", headers=editor.auth)
    assert {d["id"]: d["customFields"] for d in listed.json()["items"]} == {
        b["id"]: {},
        c["id"]: {},
    }
    # linking to it is refused exactly as linking to a document that does not exist
    unknown = "0190a000-0000-7000-8000-000000000001"
    hidden = await _patch(client, editor, b, {"see": [secret["id"]]})
    missing = await _patch(client, editor, b, {"see": [unknown]})
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json()["errors"][0]["message"].replace(secret["id"], "X") == (
        missing.json()["errors"][0]["message"].replace(unknown, "X")
    )
    r = await upload(
        client, editor, org, pdf(b"d"), custom_fields=json.dumps({"see": [secret["id"]]})
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "customFields.see")

    # what the editor cannot see, its edit cannot drop: secret stays linked to b
    r = await _patch(client, editor, b, {"see": [c["id"]]})
    assert r.status_code == 200, r.text
    assert r.json()["customFields"] == {"see": [c["id"]]}
    assert await _fields(client, owner, b) == {"see": [c["id"], secret["id"]]}
    assert await _fields(client, owner, secret) == {"see": [b["id"]]}
    assert await _fields(client, owner, c) == {"see": [b["id"]]}
    r = await _patch(client, editor, b, {})
    assert r.json()["customFields"] == {}
    assert await _fields(client, owner, b) == {"see": [secret["id"]]}
    assert await _fields(client, owner, c) == {}


async def test_trash_keeps_links_and_deleting_for_good_removes_them(
    client: Client, database_url: str
) -> None:
    owner, org = await _setup(client, database_url)
    a = await uploaded(client, owner, org, pdf(b"a"))
    b = await uploaded(client, owner, org, pdf(b"b"))
    c = await uploaded(
        client, owner, org, pdf(b"c"), custom_fields=json.dumps({"see": [a["id"], b["id"]]})
    )
    url = f"{DOCS}/{c['id']}"
    assert (await client.delete(url, headers=owner.auth)).status_code == 204
    assert await _fields(client, owner, a) == {"see": [c["id"]]}  # the trash keeps links
    r = await client.post(f"{url}/restore", headers=owner.auth)
    assert r.json()["customFields"] == {"see": [a["id"], b["id"]]}
    assert (await client.delete(url, headers=owner.auth)).status_code == 204
    events = len(await _updates(database_url))
    assert (await client.delete(f"{url}/permanent", headers=owner.auth)).status_code == 204
    assert await _fields(client, owner, a) == {}
    assert await _fields(client, owner, b) == {}
    purged = await _updates(database_url)
    assert [(e["documentId"], e["linkedFrom"], e["via"]) for e in purged[events:]] == sorted(
        [(a["id"], c["id"], "user"), (b["id"], c["id"], "user")]
    )


@pytest.fixture
async def clock_kernel(settings: Settings) -> AsyncIterator[tuple[Kernel, MovableClock]]:
    """A second kernel (as a worker has) whose clock the test moves."""
    clock = MovableClock(datetime.now(UTC))
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url, clock=clock)
    assemble(kernel, context_modules())
    try:
        yield kernel, clock
    finally:
        await kernel.close()


async def test_the_retention_purge_removes_links_too(
    client: Client,
    database_url: str,
    clock_kernel: tuple[Kernel, MovableClock],
    settings: Settings,
) -> None:
    kernel, clock = clock_kernel
    owner, org = await _setup(client, database_url)
    a = await uploaded(client, owner, org, pdf(b"a"))
    b = await uploaded(client, owner, org, pdf(b"b"), custom_fields=json.dumps({"see": [a["id"]]}))
    assert (await client.delete(f"{DOCS}/{b['id']}", headers=owner.auth)).status_code == 204
    events = len(await _updates(database_url))
    clock.advance(days=settings.section("content").content_trash_days + 1)
    trash: TrashService = kernel.services["trash"]
    assert await trash.purge_expired() == 1
    assert await _fields(client, owner, a) == {}
    assert [
        (e["documentId"], e["linkedFrom"], e["via"])
        for e in (await _updates(database_url))[events:]
    ] == [(a["id"], b["id"], "retention")]


async def test_deleting_the_field_removes_both_sides(client: Client, database_url: str) -> None:
    owner, org = await _setup(client, database_url)
    a = await uploaded(client, owner, org, pdf(b"a"), custom_fields='{"n": 1}')
    b = await uploaded(client, owner, org, pdf(b"b"))
    assert (await _patch(client, owner, a, {"see": [b["id"]], "n": 1})).status_code == 200
    fields = await client.get(f"{API}/orgs/{org}/custom-fields", headers=owner.auth)
    see = next(f for f in fields.json()["items"] if f["key"] == "see")
    r = await client.delete(f"{API}/orgs/{org}/custom-fields/{see['id']}", headers=owner.auth)
    assert r.status_code == 204
    assert await _fields(client, owner, a) == {"n": 1}
    assert await _fields(client, owner, b) == {}


async def _waiting_on_locks(database_url: str, count: int) -> None:
    """Until ``count`` backends wait for a row lock (the PATCHes queued behind ours)."""
    for _ in range(1000):
        rows = await fetch(
            database_url,
            "SELECT count(*) AS n FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        if rows[0]["n"] >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the PATCHes never queued on the lock")


async def test_concurrent_links_neither_deadlock_nor_lose_a_link(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    """Through a real server (uvicorn), so the requests really overlap. a and c link b at
    once; d and e link each other at once. Each write locks every document it touches,
    in id order, so d's and e's queue instead of deadlocking, and each reads b's links
    under its lock instead of overwriting the one the other just added."""
    client: Any = live_client
    owner, org = await _setup(client, database_url)
    a, b, c, d, e = [await uploaded(client, owner, org, pdf(n.encode())) for n in "abcde"]
    held = sorted([b["id"], min(d["id"], e["id"])])
    # hold those rows so that every PATCH has read and waits for its locks, together
    holder = await asyncpg.connect(plain_dsn(database_url))
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT 1 FROM content.documents WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            held,
        )
        patches = [
            asyncio.ensure_future(_patch(client, owner, a, {"see": [b["id"]]})),
            asyncio.ensure_future(_patch(client, owner, c, {"see": [b["id"]]})),
            asyncio.ensure_future(_patch(client, owner, d, {"also": [e["id"]]})),
            asyncio.ensure_future(_patch(client, owner, e, {"also": [d["id"]], "n": 2})),
        ]
        await _waiting_on_locks(database_url, 4)
        await transaction.commit()
        responses = await asyncio.gather(*patches)
    finally:
        await holder.close()
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert await _fields(client, owner, a) == {"see": [b["id"]]}
    assert await _fields(client, owner, c) == {"see": [b["id"]]}
    assert sorted((await _fields(client, owner, b))["see"]) == sorted([a["id"], c["id"]])
    assert await _fields(client, owner, d) == {"also": [e["id"]]}
    assert await _fields(client, owner, e) == {"also": [d["id"]], "n": 2}


async def test_a_link_committed_while_a_write_waits_is_locked_too(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    """a's PATCH reads a's links (none), then waits for a's lock while b's PATCH links a
    and commits first (it queued first): under the lock a names b, which a's write had
    not planned to lock. It must lock b too (it rolls back to its savepoint and locks
    again) rather than treat b as gone, which would leave b linking a one way only."""
    client: Any = live_client
    owner, org = await _setup(client, database_url)
    a, b, c = [await uploaded(client, owner, org, pdf(n.encode())) for n in "abc"]
    holder = await asyncpg.connect(plain_dsn(database_url))
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1 FROM content.documents WHERE id = $1 FOR UPDATE", a["id"])
        first = asyncio.ensure_future(_patch(client, owner, b, {"see": [a["id"]]}))
        await _waiting_on_locks(database_url, 1)
        second = asyncio.ensure_future(_patch(client, owner, a, {"see": [c["id"]]}))
        await _waiting_on_locks(database_url, 2)
        await transaction.commit()
        responses = await asyncio.gather(first, second)
    finally:
        await holder.close()
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    docs = {d["id"]: (await _fields(client, owner, d)).get("see", []) for d in (a, b, c)}
    assert c["id"] in docs[a["id"]]
    assert docs[c["id"]] == [a["id"]]
    for doc, links in docs.items():  # every link is there both ways
        for other in links:
            assert doc in docs[other], docs
