"""``POST /documents/download``: several documents' current files as one zip, in order,
each under its file name (a name met twice numbered), each download recorded; refused
whole — nothing recorded — for a document the caller may not have, or past the size cap."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.settings import Settings
from tests.integration.content.support import DOCS, add_version, pdf, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person

Client = AsyncTestClient[Litestar]
URL = f"{DOCS}/download"
CAP = 6000


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit_enabled=False,
        content_bulk_download_max_bytes=CAP,
    )


async def _downloaded(database_url: str) -> list[str]:
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'content.document.downloaded'"
        " ORDER BY position",
    )
    return [json.loads(r["payload"])["documentId"] for r in rows]


async def _org(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def test_the_files_come_as_one_zip_in_order_each_recorded(
    client: Client, database_url: str
) -> None:
    owner, org = await _org(client, database_url)
    files = [
        ("report.pdf", pdf(b"one")),
        ("report.pdf", pdf(b"two")),
        ("REPORT.pdf", pdf(b"three")),
        ("notes.txt", "Réunion du 3 mars\n".encode()),
    ]
    docs = [await uploaded(client, owner, org, data, file_name=name) for name, data in files]
    # the current version is the one zipped
    newer = pdf(b"one, revised")
    r = await add_version(client, owner, docs[0]["id"], newer, file_name="report.pdf")
    assert r.status_code == 201, r.text

    r = await client.post(
        URL,
        json={"organisationId": org, "documentIds": [d["id"] for d in docs]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith('attachment; filename="documents.zip"')
    assert r.headers["cache-control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None  # every member's CRC holds
    names = archive.namelist()
    assert names == ["report.pdf", "report (2).pdf", "REPORT (3).pdf", "notes.txt"]
    assert [archive.read(n) for n in names] == [newer, files[1][1], files[2][1], files[3][1]]
    assert await _downloaded(database_url) == [d["id"] for d in docs]


async def test_a_document_the_caller_may_not_have_refuses_the_whole_zip(
    client: Client, database_url: str
) -> None:
    owner, org = await _org(client, database_url)
    reader = await join(client, database_url, org, owner, "reader@example.com")
    mine = await uploaded(client, owner, org, pdf(b"open"), file_name="open.pdf")
    hidden = await uploaded(client, owner, org, pdf(b"hidden"), file_name="hidden.pdf")
    r = await client.put(
        f"{DOCS}/{hidden['id']}/permissions",
        json={"restricted": True, "shares": []},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    other_org = (await create_org(client, owner, "Elsewhere"))["id"]
    elsewhere = await uploaded(client, owner, other_org, pdf(b"elsewhere"), file_name="e.pdf")

    async def ask(who: Person, ids: list[str], organisation: str = org) -> Any:
        return await client.post(
            URL, json={"organisationId": organisation, "documentIds": ids}, headers=who.auth
        )

    r = await ask(reader, [mine["id"], hidden["id"]])
    assert (r.status_code, [e["field"] for e in r.json()["errors"]]) == (422, ["documentIds[1]"])
    r = await ask(owner, [mine["id"], elsewhere["id"]])
    assert [e["field"] for e in r.json()["errors"]] == ["documentIds[1]"]
    r = await ask(owner, ["0190f1f2-0000-7000-8000-000000000001"])
    assert [e["field"] for e in r.json()["errors"]] == ["documentIds[0]"]
    r = await ask(owner, [mine["id"], mine["id"]])
    assert r.status_code == 400
    r = await ask(owner, [])
    assert r.status_code == 400
    r = await ask(owner, [mine["id"]] * 101)
    assert r.status_code == 400
    stranger = await person(client, database_url, "stranger@example.com")
    r = await ask(stranger, [mine["id"]])
    assert r.status_code == 404
    r = await client.post(URL, json={"organisationId": org, "documentIds": [mine["id"]]})
    assert r.status_code == 401
    assert await _downloaded(database_url) == []


async def test_files_over_the_cap_are_refused_before_anything_is_sent(
    client: Client, database_url: str
) -> None:
    owner, org = await _org(client, database_url)
    big = [
        await uploaded(client, owner, org, pdf(b"x" * 2500 + bytes([i])), file_name=f"{i}.pdf")
        for i in range(3)
    ]
    r = await client.post(
        URL, json={"organisationId": org, "documentIds": [d["id"] for d in big]}, headers=owner.auth
    )
    assert (r.status_code, r.json()["code"]) == (413, "bulk_download_too_large")
    assert r.json()["extra"]["limit"] == CAP
    assert r.json()["extra"]["size"] == sum(d["size"] for d in big)
    assert await _downloaded(database_url) == []
    r = await client.post(
        URL, json={"organisationId": org, "documentIds": [big[0]["id"]]}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert await _downloaded(database_url) == [big[0]["id"]]
