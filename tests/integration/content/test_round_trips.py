"""Byte-exact round trips through upload and download, and what a file name becomes."""

from __future__ import annotations

import hashlib
import random
from typing import Any
from urllib.parse import unquote

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.kernel.settings import Settings
from tests.integration.content.support import (
    DOCS,
    DirectoryBlobStore,
    add_version,
    custom_fields,
    document_type,
    raw_upload,
    upload,
    uploaded,
)
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import create_org, person

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Arbitrary binary is not in the default allow-list; an operator may add it.
    allowed = settings.section("content").content_allowed_media_types
    return settings.replace(content_allowed_media_types=(*allowed, "application/octet-stream"))


def _filename_star(disposition: str) -> str:
    star = disposition.split("filename*=UTF-8''", 1)[1]
    return unquote(star.split(";", 1)[0])


@pytest.mark.parametrize(
    ("content", "file_name"),
    [
        (b"", "empty.bin"),
        (b"\x00", "one.bin"),
        (random.Random(5).randbytes(5 * 1024 * 1024), "random.bin"),  # fixed: no flake
        (b"plain text\n", "notes.txt"),
    ],
    ids=["empty", "one-byte", "5MB-random", "text"],
)
async def test_bytes_come_back_exactly(
    client: Client,
    database_url: str,
    blob_store: DirectoryBlobStore,
    content: bytes,
    file_name: str,
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    doc = await uploaded(client, owner, org, content, file_name=file_name)
    sha = hashlib.sha256(content).hexdigest()
    assert (doc["size"], doc["sha256"], doc["version"]) == (len(content), sha, 1)
    assert (doc["fileName"], doc["title"]) == (file_name, file_name)
    assert doc["extraction"] == {"status": "pending"}
    assert doc["duplicates"] == []
    assert (doc["ownerId"], doc["organisationId"], doc["trashedAt"]) == (owner.user_id, org, None)

    r = await client.get(f"{DOCS}/{doc['id']}/content", headers=owner.auth)
    assert r.status_code == 200
    assert r.content == content
    assert r.headers["etag"] == f'"{sha}"'
    assert r.headers["content-length"] == str(len(content))
    assert r.headers["x-content-type-options"] == "nosniff"
    assert blob_store.path(sha).read_bytes() == content

    stored = await fetch(database_url, "SELECT sha256, size, ref_count FROM content.blobs")
    assert [dict(s) for s in stored] == [{"sha256": sha, "size": len(content), "ref_count": 1}]
    r = await client.get(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert r.json() == doc


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ('say "hi".txt', 'say "hi".txt'),
        ("../../etc/passwd", "passwd"),
        ("..\\windows\\evil.txt", "evil.txt"),
        ("Zoë \u2013 résumé 日本.txt", "Zoë \u2013 résumé 日本.txt"),
        ("...", "file"),
    ],
)
async def test_file_names_are_sanitised_and_served_safely(
    client: Client, database_url: str, sent: str, kept: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    content = b"the same bytes whatever the name\n"
    doc = await uploaded(client, owner, org, content, file_name=sent)
    assert doc["fileName"] == kept

    r = await client.get(f"{DOCS}/{doc['id']}/content", headers=owner.auth)
    assert r.content == content
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("inline; ")  # text/plain may be shown
    assert _filename_star(disposition) == kept
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert all(0x20 <= ord(c) < 0x7F for c in fallback)
    assert not set(fallback) & {'"', "\\"}
    assert not set(disposition) & {"\r", "\n"}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (b"bad\x01\x7f\x1bname.txt", "badname.txt"),
        (b"bell\x07 and nul\x00.txt", "bell and nul.txt"),
        (b"tab\tand%0Anew%0D%0Aline.txt", "tab and new line.txt"),
        (b"r%C3%A9sum%22%0A.txt", 'r%C3%A9sum".txt'),
        ("caf\u00e9 \u202eexe.txt".encode(), "caf\u00e9 exe.txt"),
    ],
)
async def test_raw_control_characters_never_reach_a_header(
    client: Client, database_url: str, sent: bytes, kept: str
) -> None:
    """As a browser sends them: raw bytes, only ``"``, CR and LF escaped."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await raw_upload(client, owner, org, sent, b"text\n")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["fileName"] == kept
    r = await client.get(f"{DOCS}/{doc['id']}/content", headers=owner.auth)
    assert r.content == b"text\n"
    assert _filename_star(r.headers["content-disposition"]) == kept


async def test_title_tags_type_and_custom_fields_are_stored(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    type_id = await document_type(client, owner, org)
    await custom_fields(client, owner, org, amount="number", supplier="string")
    doc = await uploaded(
        client,
        owner,
        org,
        b"%PDF-1.4 invoice",
        file_name="inv.pdf",
        title="  Invoice   March ",
        tags=["Finance", "finance", "2024"],
        custom_fields='{"amount": 12.5, "supplier": "ACME"}',
        document_type_id=type_id,
    )
    assert doc["title"] == "Invoice March"
    assert doc["mediaType"] == "application/pdf"
    assert sorted(t["name"] for t in doc["tags"]) == ["2024", "Finance"]
    assert doc["documentTypeId"] == type_id
    assert doc["customFields"] == {"amount": 12.5, "supplier": "ACME"}

    # a tag named by id on the next upload is the same tag
    finance = next(t for t in doc["tags"] if t["name"] == "Finance")
    again = await uploaded(client, owner, org, b"%PDF-1.4 b", tags=[finance["id"], "FINANCE"])
    assert again["tags"] == [finance]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"custom_fields": "[1, 2]"}, "customFields"),
        ({"custom_fields": "{not json"}, "customFields"),
        ({"document_type_id": "nope"}, "documentTypeId"),
        ({"tags": ["0190a000-0000-7000-8000-0000000000ff"]}, "tags"),
    ],
)
async def test_bad_metadata_is_refused_and_stores_nothing(
    client: Client,
    database_url: str,
    blob_store: DirectoryBlobStore,
    fields: dict[str, Any],
    field: str,
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await upload(client, owner, org, b"%PDF-1.4 x", **fields)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert blob_store.blobs() == set()
    assert await fetch(database_url, "SELECT 1 FROM content.documents") == []
    assert await fetch(database_url, "SELECT 1 FROM content.blobs") == []


async def test_an_upload_needs_an_organisation_and_a_file(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await upload(client, owner, None, b"x")
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "organisationId"
    r = await client.post(DOCS, data={"organisationId": org}, files={}, headers=owner.auth)
    assert r.status_code in (415, 422)
    r = await client.post(DOCS, json={"organisationId": org}, headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "Invoice\x00March"}, "title"),
        ({"tags": ["fine", "bad\x1b[31m"]}, "tags"),
        ({"custom_fields": '{"amount": "12\x00"}'}, "customFields"),
        ({"custom_fields": '{"amount": "12\\u0000"}'}, "customFields.amount"),
        ({"custom_fields": '{"a\\u0007b": 1}'}, "customFields.a\x07b"),
    ],
)
async def test_control_characters_in_form_fields_are_refused_naming_the_field(
    client: Client,
    database_url: str,
    blob_store: DirectoryBlobStore,
    fields: dict[str, Any],
    field: str,
) -> None:
    """hub.kernel.hygiene checks JSON bodies; a multipart text field is checked as it is
    read (a NUL would otherwise reach PostgreSQL and end in a 500)."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await upload(client, owner, org, b"%PDF-1.4 x", **fields)
    assert (r.status_code, r.json()["code"]) == (422, "validation_failed"), r.text
    assert r.json()["errors"] == [
        {"field": field, "message": "must not contain control characters", "source": "body"}
    ]
    assert blob_store.blobs() == set()
    assert await fetch(database_url, "SELECT 1 FROM content.documents") == []


async def test_a_version_comment_with_a_control_character_is_refused(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    doc = await uploaded(client, owner, org, b"%PDF-1.4 x")
    r = await add_version(client, owner, doc["id"], b"%PDF-1.4 y", comment="fixed\x00")
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "comment"), r.text
    r = await client.get(f"{DOCS}/{doc['id']}/versions", headers=owner.auth)
    assert [v["version"] for v in r.json()["items"]] == [1]


async def test_the_organisation_after_the_file_breaks_the_order_rule(
    client: Client, database_url: str, blob_store: DirectoryBlobStore
) -> None:
    """The form matches the document (every field, right types) but the organisation comes
    after the file, which a streamed upload cannot wait for: 422, not the 400 of a form
    that never names it."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="organisationId"\r\n\r\n'
        f"{org}\r\n--{boundary}--\r\n"
    ).encode()
    r = await client.post(
        DOCS,
        content=body,
        headers={**owner.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert (r.status_code, r.json()["code"]) == (422, "field_order"), r.text
    assert r.json()["errors"][0]["field"] == "organisationId"
    assert blob_store.blobs() == set()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "t" * 301}, "title"),
        ({"tags": ["t"] * 51}, "tags"),
        ({"tags": ["t" * 65]}, "tags"),
    ],
)
async def test_form_fields_past_the_documented_limits_are_400(
    client: Client, database_url: str, fields: dict[str, Any], field: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await upload(client, owner, org, b"%PDF-1.4 x", **fields)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (400, field), r.text


async def test_the_document_states_the_upload_forms(client: Client) -> None:
    document = (await client.get("/api/openapi.json")).json()
    upload_op = document["paths"]["/api/v1/documents"]["post"]
    body = upload_op["requestBody"]
    assert body["required"] is True
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["organisationId", "file"]
    assert list(form["properties"])[:2] == ["organisationId", "file"]
    assert form["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": form["properties"]["file"]["description"],
    }
    single, many = form["properties"]["tags"]["anyOf"]  # one part, or several
    assert single["type"] == "string"
    assert many["maxItems"] == 50
    assert form["properties"]["title"]["maxLength"] == 300
    assert {"400", "403", "404", "413", "415", "422", "503", "507"} <= set(upload_op["responses"])
    version_op = document["paths"]["/api/v1/documents/{document_id}/versions"]["post"]
    version_form = version_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert version_form["required"] == ["file"]
    assert set(version_form["properties"]) == {"file", "comment"}
    assert {"409", "413", "415", "422", "507"} <= set(version_op["responses"])
    facets = next(
        p
        for p in document["paths"]["/api/v1/documents"]["get"]["parameters"]
        if p["name"] == "facets"
    )
    assert facets["schema"]["pattern"] == "^(tags|types)(,(tags|types))*$"
