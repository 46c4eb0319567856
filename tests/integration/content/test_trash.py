"""Trash, restore, permanent deletion, the retention purge on a test clock, legal hold,
and blobs deleted only once no version references them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.content import bootstrap
from hub.content.services.trash import TrashService
from hub.content.tasks import PURGE_HOURLY, purge_trash
from hub.kernel.clock import MovableClock
from hub.kernel.inject import inject
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from tests.integration.content.support import DOCS, DirectoryBlobStore, add_version, pdf, uploaded
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, create_org, person

Client = AsyncTestClient[Litestar]


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


async def _events(database_url: str, event_type: str) -> list[dict[str, object]]:
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = $1 ORDER BY position",
        event_type,
    )
    return [json.loads(r["payload"]) for r in rows]


async def _setup(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def test_trash_restore_and_permanent_delete(
    client: Client, database_url: str, blob_store: DirectoryBlobStore
) -> None:
    owner, org = await _setup(client, database_url)
    doc = await uploaded(client, owner, org, pdf(b"a"))
    url = f"{DOCS}/{doc['id']}"
    listing = f"{DOCS}?organisationId={org}"

    assert (await client.delete(f"{url}/permanent", headers=owner.auth)).json()["code"] == (
        "document_not_trashed"
    )
    assert (await client.delete(url, headers=owner.auth)).status_code == 204
    assert (await client.delete(url, headers=owner.auth)).status_code == 204  # idempotent
    r = await client.get(url, headers=owner.auth)
    assert r.json()["trashedAt"] is not None
    assert (await client.get(listing, headers=owner.auth)).json()["items"] == []
    trashed = (await client.get(listing + "&trashed=true", headers=owner.auth)).json()["items"]
    assert [d["id"] for d in trashed] == [doc["id"]]
    # a trashed document takes no new version and no edit
    r = await add_version(client, owner, doc["id"], pdf(b"b"))
    assert (r.status_code, r.json()["code"]) == (409, "document_trashed")
    r = await client.patch(url, json={"title": "x"}, headers=owner.auth)
    assert r.status_code == 409
    # but it can still be read and downloaded
    assert (await client.get(f"{url}/content", headers=owner.auth)).content == pdf(b"a")

    r = await client.post(f"{url}/restore", headers=owner.auth)
    assert (r.status_code, r.json()["trashedAt"]) == (200, None)
    assert (await client.post(f"{url}/restore", headers=owner.auth)).status_code == 409
    assert [d["id"] for d in (await client.get(listing, headers=owner.auth)).json()["items"]] == [
        doc["id"]
    ]

    await client.delete(url, headers=owner.auth)
    assert (await client.delete(f"{url}/permanent", headers=owner.auth)).status_code == 204
    assert (await client.get(url, headers=owner.auth)).status_code == 404
    assert blob_store.blobs() == set()
    assert await fetch(database_url, "SELECT 1 FROM content.blobs") == []
    assert await fetch(database_url, "SELECT 1 FROM content.document_versions") == []
    usage = await fetch(database_url, "SELECT bytes FROM content.storage_usage")
    assert [u["bytes"] for u in usage] == [0]
    types = [
        e["event_type"]
        for e in await fetch(
            database_url,
            # the upload's job requests (thumbnail, text extraction) share the outbox
            "SELECT event_type FROM content.outbox "
            "WHERE event_type <> 'kernel.job_requested' ORDER BY position",
        )
    ]
    assert types == [
        "content.document.uploaded",
        "content.document.trashed",
        "content.document.downloaded",
        "content.document.restored",
        "content.document.trashed",
        "content.document.purged",
    ]
    (purged,) = await _events(database_url, "content.document.purged")
    assert (purged["documentId"], purged["reason"], purged["actorId"]) == (
        doc["id"],
        "user",
        owner.user_id,
    )
    assert "sha256" not in purged


async def test_the_purge_waits_for_the_retention_and_spares_held_documents(
    client: Client,
    database_url: str,
    blob_store: DirectoryBlobStore,
    clock_kernel: tuple[Kernel, MovableClock],
    settings: Settings,
) -> None:
    kernel, clock = clock_kernel
    owner, org = await _setup(client, database_url)
    shared_bytes = pdf(b"shared")
    old = await uploaded(client, owner, org, shared_bytes, title="old")
    keep = await uploaded(client, owner, org, shared_bytes, title="same bytes, kept")
    held = await uploaded(client, owner, org, pdf(b"held"), title="held")
    await add_version(client, owner, old["id"], pdf(b"old v2"))
    for doc in (old, held):
        assert (await client.delete(f"{DOCS}/{doc['id']}", headers=owner.auth)).status_code == 204
    r = await client.patch(f"{DOCS}/{held['id']}", json={"legalHold": True}, headers=owner.auth)
    assert r.status_code == 200
    r = await client.delete(f"{DOCS}/{held['id']}/permanent", headers=owner.auth)
    assert (r.status_code, r.json()["code"]) == (409, "legal_hold")

    days = settings.section("content").content_trash_days
    trash: TrashService = kernel.services["trash"]
    clock.advance(days=days - 1)
    assert await trash.purge_expired() == 0

    clock.advance(days=2)
    run = inject(purge_trash.fn, kernel.services)
    await run(None)  # the periodic job, with its service injected
    ids = {r["id"] for r in await fetch(database_url, "SELECT id FROM content.documents")}
    assert {str(i) for i in ids} == {keep["id"], held["id"]}
    # the shared bytes stay (another version references them); old's own v2 is gone
    sha = hashlib.sha256
    assert blob_store.blobs() == {sha(shared_bytes).hexdigest(), sha(pdf(b"held")).hexdigest()}
    refs = await fetch(database_url, "SELECT sha256, ref_count FROM content.blobs ORDER BY 1")
    assert {r["sha256"]: r["ref_count"] for r in refs} == {
        sha(shared_bytes).hexdigest(): 1,
        sha(pdf(b"held")).hexdigest(): 1,
    }
    (purged,) = await _events(database_url, "content.document.purged")
    assert (purged["documentId"], purged["reason"]) == (old["id"], "retention")
    assert await trash.purge_expired() == 0  # a rerun finds nothing

    # lifting the hold lets the next purge take it
    r = await client.patch(f"{DOCS}/{held['id']}", json={"legalHold": False}, headers=owner.auth)
    assert r.status_code == 200
    assert await trash.purge_expired() == 1
    assert blob_store.blobs() == {sha(shared_bytes).hexdigest()}


def test_the_purge_is_scheduled() -> None:
    built = bootstrap.build()
    assert PURGE_HOURLY in built.periodic
    assert PURGE_HOURLY.job_name == "content.purge_trash"
    assert purge_trash in built.jobs
