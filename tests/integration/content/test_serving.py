"""Serving files (RFC 9110): the version asked for on every path, ETag and 304, single
ranges and 416, If-Range, and script-capable types never rendered inline."""

from __future__ import annotations

import hashlib
import os

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content.domain.settings import DEFAULT_ALLOWED_MEDIA_TYPES
from hub.kernel.settings import Settings
from tests.integration.content.support import DOCS, add_version, pdf, uploaded
from tests.integration.identity.support_orgs import Person, create_org, person

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit_enabled=False,
        content_allowed_media_types=(
            *DEFAULT_ALLOWED_MEDIA_TYPES,
            "text/html",
            "image/svg+xml",
            "application/xml",
            "application/octet-stream",  # arbitrary binary (c.bin below), an operator's choice
        ),
    )


async def _owner_and_org(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def test_each_version_is_served_as_asked(client: Client, database_url: str) -> None:
    owner, org = await _owner_and_org(client, database_url)
    v1, v2, v3 = pdf(b"one"), pdf(b"two" * 1000), os.urandom(3000)
    doc = await uploaded(client, owner, org, v1, file_name="a.pdf")
    r = await add_version(client, owner, doc["id"], v2, "b.pdf", comment="second")
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["comment"], r.json()["fileName"]) == (
        2,
        "second",
        "b.pdf",
    )
    r = await add_version(client, owner, doc["id"], v3, "c.bin")
    assert r.status_code == 201, r.text

    base = f"{DOCS}/{doc['id']}/content"
    for query, body, name in (
        ("", v3, "c.bin"),
        ("?version=1", v1, "a.pdf"),
        ("?version=2", v2, "b.pdf"),
        ("?version=3", v3, "c.bin"),
    ):
        r = await client.get(base + query, headers=owner.auth)
        assert r.status_code == 200
        assert r.content == body
        assert r.headers["etag"] == f'"{hashlib.sha256(body).hexdigest()}"'
        assert name in r.headers["content-disposition"]
        # a range of that same version
        r = await client.get(base + query, headers={**owner.auth, "Range": "bytes=1-4"})
        assert (r.status_code, r.content) == (206, body[1:5])
        # its ETag revalidates that version only
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        r = await client.get(base + query, headers={**owner.auth, "If-None-Match": etag})
        assert r.status_code == 304

    r = await client.get(base + "?version=4", headers=owner.auth)
    assert r.status_code == 404
    r = await client.get(f"{DOCS}/{doc['id']}", headers=owner.auth)
    assert (r.json()["version"], r.json()["fileName"], r.json()["size"]) == (3, "c.bin", 3000)

    r = await client.get(f"{DOCS}/{doc['id']}/versions", headers=owner.auth)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["version"] for i in items] == [3, 2, 1]
    assert [i["sha256"] for i in items] == [hashlib.sha256(b).hexdigest() for b in (v3, v2, v1)]
    assert {i["createdBy"] for i in items} == {owner.user_id}
    r = await client.get(f"{DOCS}/{doc['id']}/versions?limit=2", headers=owner.auth)
    assert [i["version"] for i in r.json()["items"]] == [3, 2]
    r = await client.get(
        f"{DOCS}/{doc['id']}/versions?limit=2&cursor={r.json()['nextCursor']}", headers=owner.auth
    )
    assert ([i["version"] for i in r.json()["items"]], r.json()["nextCursor"]) == ([1], None)


async def test_restoring_an_old_version_makes_a_new_current_one(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_and_org(client, database_url)
    v1, v2 = pdf(b"first"), pdf(b"second")
    doc = await uploaded(client, owner, org, v1, file_name="a.pdf")
    await add_version(client, owner, doc["id"], v2, "b.pdf")
    r = await client.post(
        f"{DOCS}/{doc['id']}/versions/1/restore", json={"comment": "back"}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["restoredFrom"], r.json()["fileName"]) == (3, 1, "a.pdf")
    r = await client.get(f"{DOCS}/{doc['id']}/content", headers=owner.auth)
    assert r.content == v1
    r = await client.get(f"{DOCS}/{doc['id']}/content?version=2", headers=owner.auth)
    assert r.content == v2
    r = await client.post(f"{DOCS}/{doc['id']}/versions/9/restore", headers=owner.auth)
    assert r.status_code == 404


async def test_ranges_and_conditional_requests(client: Client, database_url: str) -> None:
    owner, org = await _owner_and_org(client, database_url)
    body = bytes(range(256)) * 4  # 1024 bytes
    doc = await uploaded(client, owner, org, body, file_name="b.bin")
    url = f"{DOCS}/{doc['id']}/content"
    etag = f'"{hashlib.sha256(body).hexdigest()}"'

    async def get(**headers: str) -> object:
        return await client.get(url, headers={**owner.auth, **headers})

    cases = {
        "bytes=0-0": (0, 1),
        "bytes=10-19": (10, 20),
        "bytes=1000-": (1000, 1024),
        "bytes=-24": (1000, 1024),
        "bytes=-5000": (0, 1024),
        "bytes=1020-99999": (1020, 1024),
    }
    for header, (start, end) in cases.items():
        r = await get(Range=header)
        assert r.status_code == 206, header
        assert r.content == body[start:end], header
        assert r.headers["content-range"] == f"bytes {start}-{end - 1}/1024"
        assert r.headers["content-length"] == str(end - start)
        assert r.headers["etag"] == etag

    for header in ("bytes=1024-", "bytes=5000-6000", "bytes=-0"):
        r = await get(Range=header)
        assert r.status_code == 416, header
        assert r.headers["content-range"] == "bytes */1024"
        assert r.json()["code"] == "range_not_satisfiable"

    # ignored (RFC 9110 14.2): several ranges, another unit, malformed, last < first
    for header in ("bytes=0-1,5-6", "items=0-1", "bytes=abc", "bytes=9-3"):
        r = await get(Range=header)
        assert (r.status_code, r.content) == (200, body), header

    assert (await get(**{"If-None-Match": etag})).status_code == 304
    r = await get(**{"If-None-Match": f'W/{etag}, "other"'})
    assert (r.status_code, r.headers["etag"], r.content) == (304, etag, b"")
    assert (await get(**{"If-None-Match": "*"})).status_code == 304
    assert (await get(**{"If-None-Match": '"other"'})).status_code == 200
    # If-Range: the range only while the client's copy is this version
    r = await get(Range="bytes=0-9", **{"If-Range": etag})
    assert (r.status_code, r.content) == (206, body[:10])
    r = await get(Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert (r.status_code, r.content) == (200, body)
    assert r.headers["accept-ranges"] == "bytes"


async def test_an_empty_file_has_no_satisfiable_range(client: Client, database_url: str) -> None:
    owner, org = await _owner_and_org(client, database_url)
    doc = await uploaded(client, owner, org, b"", file_name="empty.bin")
    r = await client.get(f"{DOCS}/{doc['id']}/content", headers={**owner.auth, "Range": "bytes=0-"})
    assert (r.status_code, r.headers["content-range"]) == (416, "bytes */0")


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [
        (b"<!DOCTYPE html><script>alert(1)</script>", "page.html", "text/html"),
        (b"<html><body onload=alert(1)>", "innocent.txt", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "x.svg", "image/svg+xml"),
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "x.png",
            "image/svg+xml",
        ),
        (b'<?xml version="1.0"?><note/>', "n.xml", "application/xml"),
    ],
)
async def test_script_capable_types_are_never_inline(
    client: Client, database_url: str, content: bytes, name: str, media_type: str
) -> None:
    owner, org = await _owner_and_org(client, database_url)
    doc = await uploaded(client, owner, org, content, file_name=name)
    assert doc["mediaType"] == media_type
    for query in ("", "?disposition=inline", "?disposition=attachment"):
        r = await client.get(f"{DOCS}/{doc['id']}/content{query}", headers=owner.auth)
        assert r.status_code == 200
        assert r.content == content
        assert r.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-type"].startswith(media_type)


async def test_safe_types_are_inline_unless_asked_otherwise(
    client: Client, database_url: str
) -> None:
    owner, org = await _owner_and_org(client, database_url)
    doc = await uploaded(client, owner, org, pdf(b"x"), file_name="a.pdf")
    r = await client.get(f"{DOCS}/{doc['id']}/content", headers=owner.auth)
    assert r.headers["content-disposition"].startswith("inline;")
    assert r.headers["content-type"] == "application/pdf"
    assert "sandbox" not in r.headers["content-security-policy"]
    r = await client.get(f"{DOCS}/{doc['id']}/content?disposition=attachment", headers=owner.auth)
    assert r.headers["content-disposition"].startswith("attachment;")
    # unknown binary is always an attachment
    doc = await uploaded(client, owner, org, os.urandom(64), file_name="blob.bin")
    r = await client.get(f"{DOCS}/{doc['id']}/content?disposition=inline", headers=owner.auth)
    assert r.headers["content-disposition"].startswith("attachment;")
