"""Refusals change nothing: the upload limit (413, with and without Content-Length), the
organisation's quota (507), refused media types (422). And blobs under concurrency: two
uploads of the same bytes store one blob; a blob is never deleted from under an upload."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.content.repositories.blobs.base import StoredBlob
from hub.kernel.settings import Settings
from tests.integration.content.support import (
    DOCS,
    DirectoryBlobStore,
    add_version,
    pdf,
    upload,
    uploaded,
)
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, create_org, person

Client = AsyncTestClient[Litestar]
LIMIT = 2000
QUOTA = 3000


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit_enabled=False,
        max_upload_bytes=LIMIT,
        content_quota_bytes=QUOTA,
    )


async def _state(database_url: str, blob_store: DirectoryBlobStore) -> dict[str, Any]:
    """Everything a refused upload must leave as it was."""
    return {
        "documents": len(await fetch(database_url, "SELECT 1 FROM content.documents")),
        "versions": len(await fetch(database_url, "SELECT 1 FROM content.document_versions")),
        "blobs": sorted(
            r["sha256"] for r in await fetch(database_url, "SELECT sha256 FROM content.blobs")
        ),
        "usage": [
            r["bytes"] for r in await fetch(database_url, "SELECT bytes FROM content.storage_usage")
        ],
        "events": len(await fetch(database_url, "SELECT 1 FROM content.outbox")),
        "files": sorted(blob_store.blobs()),
        "leftovers": blob_store.leftovers(),
    }


async def _setup(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def test_refused_uploads_change_nothing(
    client: Client, database_url: str, blob_store: DirectoryBlobStore
) -> None:
    owner, org = await _setup(client, database_url)
    first = await uploaded(client, owner, org, pdf(b"x" * 1000))
    before = await _state(database_url, blob_store)
    assert before["usage"] == [first["size"]]

    # past the upload limit: streamed, stopped at the limit
    r = await upload(client, owner, org, pdf(b"y" * LIMIT))
    assert (r.status_code, r.json()["code"]) == (413, "upload_too_large")
    # declared far past it: refused before reading
    r = await client.post(
        DOCS,
        content=b"z" * (LIMIT + 1024 * 1024 + 10),
        headers={**owner.auth, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert (r.status_code, r.json()["code"]) == (413, "upload_too_large")
    # a refused type: nothing reaches the store
    puts = blob_store.puts
    r = await upload(client, owner, org, b"<html><script>x</script>", file_name="a.txt")
    assert (r.status_code, r.json()["code"]) == (422, "media_type_not_allowed")
    assert r.json()["extra"]["mediaType"] == "text/html"
    assert blob_store.puts == puts
    # under the limit but past the quota (1 009 used of 3 000): an upload and a version
    r = await upload(client, owner, org, pdf(b"q" * 1986))
    assert (r.status_code, r.json()["code"]) == (507, "storage_quota_exceeded")
    r = await add_version(client, owner, first["id"], pdf(b"v" * 1986))
    assert (r.status_code, r.json()["code"]) == (507, "storage_quota_exceeded")
    # a malformed body
    r = await client.post(
        DOCS,
        content=b'--x\r\nContent-Disposition: form-data; name="organisationId"\r\n\r\n'
        + org.encode(),
        headers={**owner.auth, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert (r.status_code, r.json()["code"]) == (400, "malformed_multipart")

    assert await _state(database_url, blob_store) == before
    # restoring a version counts against the quota too
    ok = await add_version(client, owner, first["id"], pdf(b"w" * 1100))
    assert ok.status_code == 201
    r = await client.post(f"{DOCS}/{first['id']}/versions/1/restore", headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (507, "storage_quota_exceeded")
    # what fits still fits
    assert (await upload(client, owner, org, pdf(b"s" * 50))).status_code == 201


async def test_two_concurrent_uploads_of_the_same_bytes_store_one_blob(
    live_client: httpx.AsyncClient, database_url: str, blob_store: DirectoryBlobStore
) -> None:
    """Through a real server (uvicorn), so the two requests really overlap."""
    client = live_client
    owner, org = await _setup(client, database_url)
    content = pdf(b"same" * 100)
    blob_store.barrier = asyncio.Barrier(2)  # both puts have written before either links
    first, second = await asyncio.gather(
        upload(client, owner, org, content, file_name="one.pdf"),
        upload(client, owner, org, content, file_name="two.pdf"),
    )
    blob_store.barrier = None
    assert (first.status_code, second.status_code) == (201, 201)
    sha = hashlib.sha256(content).hexdigest()
    assert blob_store.blobs() == {sha}
    assert blob_store.leftovers() == []
    rows = await fetch(database_url, "SELECT sha256, ref_count FROM content.blobs")
    assert [(r["sha256"], r["ref_count"]) for r in rows] == [(sha, 2)]
    assert first.json()["id"] != second.json()["id"]

    # one of them purged: the blob stays for the other
    for doc in (first.json(),):
        await client.delete(f"{DOCS}/{doc['id']}", headers=owner.auth)
        assert (
            await client.delete(f"{DOCS}/{doc['id']}/permanent", headers=owner.auth)
        ).status_code == 204
    assert blob_store.blobs() == {sha}
    r = await client.get(f"{DOCS}/{second.json()['id']}/content", headers=owner.auth)
    assert r.content == content


async def test_a_collection_between_store_and_reference_never_leaves_a_dangling_version(
    client: Client, database_url: str, blob_store: DirectoryBlobStore, app: Litestar
) -> None:
    """The race the advisory lock guards: a clean-up of the same bytes deletes the blob
    after the upload stored it and before the upload's transaction references it. The
    upload must notice (503, retry), not commit a version whose bytes are gone."""
    owner, org = await _setup(client, database_url)
    blobs = app.state.kernel.services["uploads"].blobs  # runs on the app's loop
    real_put = blob_store.put

    async def put_then_collect(
        chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        stored = await real_put(chunks, max_bytes=max_bytes)
        assert await blobs.collect(stored.sha256)  # nothing references it yet: deleted
        return stored

    blob_store.put = put_then_collect  # type: ignore[method-assign]
    r = await upload(client, owner, org, pdf(b"raced"))
    blob_store.put = real_put  # type: ignore[method-assign]
    assert (r.status_code, r.json()["code"]) == (503, "upload_interrupted")
    assert await fetch(database_url, "SELECT 1 FROM content.documents") == []
    assert await fetch(database_url, "SELECT 1 FROM content.blobs") == []

    # the other order: referenced first, so a clean-up keeps it
    doc = await uploaded(client, owner, org, pdf(b"raced"))

    async def collect_after_put(
        chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        stored = await real_put(chunks, max_bytes=max_bytes)
        assert not await blobs.collect(stored.sha256)  # referenced by `doc`: kept
        return stored

    blob_store.put = collect_after_put  # type: ignore[method-assign]
    again = await uploaded(client, owner, org, pdf(b"raced"))
    blob_store.put = real_put  # type: ignore[method-assign]
    assert again["sha256"] == doc["sha256"]
    assert blob_store.blobs() == {doc["sha256"]}
