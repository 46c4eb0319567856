"""Archive serial numbers (Paperless-ngx's ASN): the number on a paper original, set at
upload or by PATCH, unique in the organisation (trash included), found with a list
filter, and the next free one asked for before writing it on the paper."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.content.support import DOCS, pdf, role, upload, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]


async def _org(client: Any, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def _next(client: Any, who: Person, org: str) -> Any:
    return await client.get(f"{DOCS}/next-asn", params={"organisationId": org}, headers=who.auth)


async def _stored(database_url: str) -> tuple[int, int]:
    docs = await fetch(database_url, "SELECT count(*) AS n FROM content.documents")
    blobs = await fetch(database_url, "SELECT count(*) AS n FROM content.blobs")
    return docs[0]["n"], blobs[0]["n"]


async def test_a_number_is_given_at_upload_found_and_never_given_twice(
    client: Client, database_url: str
) -> None:
    owner, org = await _org(client, database_url)
    r = await _next(client, owner, org)
    assert r.json() == {"next": 1}
    first = await uploaded(client, owner, org, pdf(b"a"), archive_serial_number="42")
    assert first["archiveSerialNumber"] == 42
    plain = await uploaded(client, owner, org, pdf(b"b"))
    assert plain["archiveSerialNumber"] is None
    assert (await _next(client, owner, org)).json() == {"next": 43}

    before = await _stored(database_url)
    r = await upload(client, owner, org, pdf(b"c"), archive_serial_number="42")
    assert (r.status_code, r.json()["code"]) == (409, "asn_taken")
    assert r.json()["extra"] == {"archiveSerialNumber": 42}
    for bad, status in (
        ("abc", 422),
        ("0", 422),
        ("-3", 422),
        ("4294967296", 422),
        ("1" * 11, 400),
    ):
        r = await upload(client, owner, org, pdf(b"d"), archive_serial_number=bad)
        assert r.status_code == status, (bad, r.text)
        if status == 422:
            assert r.json()["errors"][0]["field"] == "archiveSerialNumber"
    assert await _stored(database_url) == before  # refused: no document, no blob kept

    r = await client.get(
        DOCS, params={"organisationId": org, "archiveSerialNumber": 42}, headers=owner.auth
    )
    assert [d["id"] for d in r.json()["items"]] == [first["id"]]
    r = await client.get(
        DOCS, params={"organisationId": org, "archiveSerialNumber": 0}, headers=owner.auth
    )
    assert r.status_code == 400
    # another organisation numbers its own documents
    elsewhere = (await create_org(client, owner, "Elsewhere"))["id"]
    other = await uploaded(client, owner, elsewhere, pdf(b"e"), archive_serial_number="42")
    assert other["archiveSerialNumber"] == 42


async def test_patch_sets_changes_and_clears_it_and_the_trash_keeps_it(
    client: Client, database_url: str
) -> None:
    owner, org = await _org(client, database_url)
    a = await uploaded(client, owner, org, pdf(b"a"), archive_serial_number="5")
    b = await uploaded(client, owner, org, pdf(b"b"))
    r = await client.patch(f"{DOCS}/{b['id']}", json={"archiveSerialNumber": 5}, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "asn_taken")
    r = await client.patch(f"{DOCS}/{b['id']}", json={"archiveSerialNumber": 0}, headers=owner.auth)
    assert r.status_code == 400
    r = await client.patch(f"{DOCS}/{b['id']}", json={"archiveSerialNumber": 6}, headers=owner.auth)
    assert (r.status_code, r.json()["archiveSerialNumber"]) == (200, 6)
    r = await client.patch(f"{DOCS}/{b['id']}", json={"archiveSerialNumber": 6}, headers=owner.auth)
    assert r.status_code == 200  # the same number again: nothing changes
    r = await client.patch(
        f"{DOCS}/{a['id']}", json={"archiveSerialNumber": None}, headers=owner.auth
    )
    assert r.json()["archiveSerialNumber"] is None
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.updated'"
        " ORDER BY position",
    )
    assert [json.loads(x["payload"])["changed"] for x in rows] == [
        ["archiveSerialNumber"],
        ["archiveSerialNumber"],
    ]
    # a trashed document keeps its number: it is still on the shelf
    r = await client.delete(f"{DOCS}/{b['id']}", headers=owner.auth)
    assert r.status_code == 204, r.text
    r = await upload(client, owner, org, pdf(b"c"), archive_serial_number="6")
    assert (r.status_code, r.json()["code"]) == (409, "asn_taken")
    assert (await _next(client, owner, org)).json() == {"next": 7}


async def test_only_writers_ask_for_the_next_number(client: Client, database_url: str) -> None:
    owner, org = await _org(client, database_url)
    await role(client, owner, org, "readers", ["content.documents.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com", ["readers"])
    r = await _next(client, reader, org)
    assert r.status_code == 403
    stranger = await person(client, database_url, "stranger@example.com")
    r = await _next(client, stranger, org)
    assert r.status_code == 404


async def test_uploads_naming_one_number_at_once_store_one_document(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client  # a real server: the test client serves one request at a time
    owner, org = await _org(client, database_url)
    answers = await asyncio.gather(
        *(
            upload(client, owner, org, pdf(bytes([i]) * 64), archive_serial_number="9")
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"asn_taken"}
    docs = await fetch(
        database_url,
        "SELECT archive_serial_number FROM content.documents WHERE organisation_id = $1::uuid",
        org,
    )
    assert [d["archive_serial_number"] for d in docs] == [9]
    blobs = await fetch(database_url, "SELECT count(*) AS n FROM content.blobs")
    assert blobs[0]["n"] == 1  # the refused uploads' files were not kept
