"""Thumbnails from the outside: queued with each version, made by the job, served under
the download's read rule; hostile files contained; purges take the thumbnails along.

Most tests run the queued job requests themselves, in order, from the outbox (the job
function with its services injected, as the worker calls it), so what is "not made yet"
is never a matter of timing; one test runs a real in-process worker end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from hub.app import context_modules
from hub.content import bootstrap
from hub.content.cli import thumbnails_group as thumbnails_command
from hub.content.tasks import make_thumbnail
from hub.kernel.commands import CommandServices
from hub.kernel.inject import inject
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.content.support import (
    DOCS,
    DirectoryBlobStore,
    add_version,
    member_with,
    role,
    uploaded,
)
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, api_key, create_org, join, person
from tests.support import problem

Client = AsyncTestClient[Litestar]


def pdf_of(size: tuple[int, int] = (600, 800), colour: str = "red", **save: Any) -> bytes:
    """A real one-page PDF (Pillow's writer): ``size`` pixels at 72 dpi, so that many
    points."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PDF", **save)
    return out.getvalue()


def image_of(size: tuple[int, int], colour: Any, fmt: str = "PNG", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
async def jobs(settings: Settings) -> AsyncIterator[Kernel]:
    """A second kernel with every service wired, as a worker has, to run jobs with."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url)
    assemble(kernel, context_modules())
    try:
        yield kernel
    finally:
        await kernel.close()


async def requested(database_url: str) -> list[list[Any]]:
    """The arguments of every thumbnail job queued so far, in order."""
    rows = await fetch(
        database_url,
        "SELECT payload FROM content.outbox WHERE event_type = 'kernel.job_requested' "
        "ORDER BY position",
    )
    payloads = [json.loads(row["payload"]) for row in rows]
    return [p["args"] for p in payloads if p["job"] == "content.make_thumbnail"]


async def run_jobs(kernel: Kernel, database_url: str) -> None:
    """Run every queued thumbnail job (earlier ones again: a redelivery is a no-op)."""
    run = inject(make_thumbnail.fn, kernel.services)
    for args in await requested(database_url):
        await run(None, *args)


async def thumbnail(client: Client, who: Any, document_id: str, **params: Any) -> Any:
    headers = who.auth if isinstance(who, Person) else who
    return await client.get(f"{DOCS}/{document_id}/thumbnail", params=params, headers=headers)


def decoded(response: Any) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "WEBP"
    assert max(image.size) <= 400
    return image


def colour_at_centre(image: Image.Image) -> tuple[int, ...]:
    rgb = image.convert("RGB")
    pixel = rgb.getpixel((rgb.width // 2, rgb.height // 2))
    assert isinstance(pixel, tuple)
    return pixel


async def records(database_url: str) -> list[dict[str, Any]]:
    rows = await fetch(
        database_url,
        "SELECT document_id::text, version, status, sha256, error "
        "FROM content.version_thumbnails ORDER BY document_id, version",
    )
    return [dict(r) for r in rows]


async def ref_counts(database_url: str) -> dict[str, int]:
    rows = await fetch(database_url, "SELECT sha256, ref_count FROM content.blobs")
    return {r["sha256"]: r["ref_count"] for r in rows}


async def owner_and_org(client: Client, database_url: str) -> tuple[Person, str]:
    owner = await person(client, database_url, "owner@example.com")
    return owner, (await create_org(client, owner))["id"]


async def test_a_pdf_and_an_image_get_webp_thumbnails(
    client: Client, database_url: str, jobs: Kernel, blob_store: DirectoryBlobStore
) -> None:
    owner, org = await owner_and_org(client, database_url)
    document = await uploaded(client, owner, org, pdf_of((600, 800), "red"))
    picture = await uploaded(
        client, owner, org, image_of((1000, 500), "blue"), file_name="wide.png"
    )
    assert await requested(database_url) == [[document["id"], 1], [picture["id"], 1]]

    # before the job ran
    r = await thumbnail(client, owner, document["id"])
    assert (r.status_code, problem(r)["code"]) == (404, "thumbnail_not_ready")

    await run_jobs(jobs, database_url)
    r = await thumbnail(client, owner, document["id"])
    image = decoded(r)
    assert image.size == (300, 400)  # the page, scaled to fit 400 (aspect kept)
    red, green, blue = colour_at_centre(image)[:3]
    assert (red > 200, green < 60, blue < 60) == (True, True, True)
    assert r.headers["etag"] == f'"{sha(r.content)}"'
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "private, no-cache"
    assert r.headers["content-length"] == str(len(r.content))

    wide = decoded(await thumbnail(client, owner, picture["id"]))
    assert wide.size == (400, 200)
    assert colour_at_centre(wide)[2] > 200

    # what is stored: one record per version, the WebP in the blob store, counted once
    pdf_thumb = sha(r.content)
    stored = await records(database_url)
    assert [(x["document_id"], x["version"], x["status"]) for x in stored] == sorted(
        [(document["id"], 1, "ready"), (picture["id"], 1, "ready")]
    )
    assert pdf_thumb in {x["sha256"] for x in stored}
    assert pdf_thumb in blob_store.blobs()
    assert (await ref_counts(database_url))[pdf_thumb] == 1

    # conditional requests
    etag = r.headers["etag"]
    r = await client.get(
        f"{DOCS}/{document['id']}/thumbnail", headers={**owner.auth, "If-None-Match": etag}
    )
    assert (r.status_code, r.content, r.headers["etag"]) == (304, b"", etag)
    r = await client.get(
        f"{DOCS}/{document['id']}/thumbnail",
        headers={**owner.auth, "If-None-Match": '"something-else"'},
    )
    assert r.status_code == 200

    # the job again (a redelivery) changes nothing
    puts = blob_store.puts
    await run_jobs(jobs, database_url)
    assert await records(database_url) == stored
    assert blob_store.puts == puts
    assert (await ref_counts(database_url))[pdf_thumb] == 1


async def test_types_without_a_preview_and_unknown_versions(
    client: Client, database_url: str, jobs: Kernel
) -> None:
    owner, org = await owner_and_org(client, database_url)
    text = await uploaded(client, owner, org, b"just some words\n", file_name="notes.txt")
    assert await requested(database_url) == []  # nothing to make: no job at all
    r = await thumbnail(client, owner, text["id"])
    body = problem(r)
    assert (r.status_code, body["code"], body["extra"]) == (
        404,
        "no_thumbnail",
        {"mediaType": "text/plain"},
    )
    r = await thumbnail(client, owner, text["id"], version=2)
    assert (r.status_code, problem(r)["code"]) == (404, "not_found")
    r = await thumbnail(client, owner, text["id"], version=0)
    assert r.status_code == 400


async def test_each_version_has_its_own_and_a_restore_reuses_it(
    client: Client, database_url: str, jobs: Kernel, blob_store: DirectoryBlobStore
) -> None:
    owner, org = await owner_and_org(client, database_url)
    document = await uploaded(client, owner, org, pdf_of((600, 800), "red"))
    r = await add_version(client, owner, document["id"], image_of((1000, 500), "blue"), "v2.png")
    assert r.status_code == 201, r.text
    # v2's job was queued with v2, before any job ran: the current one is not made yet
    assert (await thumbnail(client, owner, document["id"])).status_code == 404

    await run_jobs(jobs, database_url)
    current = await thumbnail(client, owner, document["id"])
    first = await thumbnail(client, owner, document["id"], version=1)
    assert decoded(current).size == (400, 200)  # v2's, the PNG
    assert decoded(first).size == (300, 400)  # v1's, the PDF
    assert current.headers["etag"] != first.headers["etag"]

    # restoring v1 makes v3, whose thumbnail is v1's (reused, not rendered again)
    r = await client.post(f"{DOCS}/{document['id']}/versions/1/restore", headers=owner.auth)
    assert r.status_code == 201, r.text
    assert (await requested(database_url))[-1] == [document["id"], 3]
    puts = blob_store.puts
    await run_jobs(jobs, database_url)
    assert blob_store.puts == puts
    third = await thumbnail(client, owner, document["id"])
    assert third.headers["etag"] == first.headers["etag"]
    assert (await ref_counts(database_url))[sha(first.content)] == 2  # v1 and v3


async def test_thumbnails_follow_the_download_rule(
    client: Client, database_url: str, jobs: Kernel
) -> None:
    owner, org = await owner_and_org(client, database_url)
    await role(client, owner, org, "plain", ["identity.org.read"])
    reader = await join(client, database_url, org, owner, "reader@example.com")  # member
    nobody = await member_with(client, database_url, org, owner, "nobody@example.com", ["plain"])
    shared = await member_with(client, database_url, org, owner, "shared@example.com", ["plain"])
    outsider = await person(client, database_url, "outsider@example.com")
    await create_org(client, outsider, "Elsewhere")
    open_doc = await uploaded(client, owner, org, image_of((40, 30), "green"), file_name="a.png")
    closed = await uploaded(client, owner, org, image_of((30, 40), "green"), file_name="b.png")
    r = await client.put(
        f"{DOCS}/{closed['id']}/permissions",
        json={"restricted": True, "shares": [{"userId": shared.user_id, "access": "view"}]},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    await run_jobs(jobs, database_url)

    def key(created: dict[str, Any]) -> dict[str, str]:
        return {"X-API-Key": created["key"]}

    reading_key = key(await api_key(client, owner, ["content.documents.read"]))
    writing_key = key(await api_key(client, owner, ["content.documents.write"]))
    expected: list[tuple[str, Any, dict[str, Any], int]] = [
        ("owner", owner, open_doc, 200),
        ("owner", owner, closed, 200),
        ("member", reader, open_doc, 200),
        ("member, restricted", reader, closed, 404),
        ("no read permission", nobody, open_doc, 404),
        ("view share", shared, closed, 200),
        ("outsider", outsider, open_doc, 404),
        ("outsider", outsider, closed, 404),
        ("key with read scope", reading_key, closed, 200),
        ("key without read scope", writing_key, open_doc, 404),
    ]
    for name, who, document, status in expected:
        headers = who.auth if isinstance(who, Person) else who
        got = await thumbnail(client, who, document["id"])
        download = await client.get(f"{DOCS}/{document['id']}/content", headers=headers)
        assert (name, got.status_code) == (name, status), got.text
        assert download.status_code == status, name  # the same answer as the file
        if status == 404:
            assert problem(got)["code"] == "not_found", name  # reveals nothing more
    r = await client.get(f"{DOCS}/{open_doc['id']}/thumbnail")
    assert r.status_code == 401


async def test_hostile_and_damaged_files_are_recorded_as_failed(
    client: Client, database_url: str, jobs: Kernel, blob_store: DirectoryBlobStore
) -> None:
    owner, org = await owner_and_org(client, database_url)
    jpeg = image_of((300, 200), "yellow", "JPEG")
    files = {
        # a few KiB declaring 400 megapixels (past Pillow's own bomb limit)
        "bomb.png": image_of((20000, 20000), 0, mode="1"),
        # 80 megapixels: under Pillow's limit, over ours
        "big.png": image_of((10000, 8000), 0, mode="1"),
        "damaged.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\n%%EOF garbage",
        "huge-page.pdf": pdf_of((100, 100), resolution=0.1),  # 72 000 pt a side
        "truncated.jpg": jpeg[: len(jpeg) // 2],
    }
    documents = {}
    for name, data in files.items():
        assert len(data) < 60_000, name  # small files, all of them
        documents[name] = await uploaded(client, owner, org, data, file_name=name)
    fine = await uploaded(client, owner, org, jpeg, file_name="fine.jpg")

    await run_jobs(jobs, database_url)  # returns: nothing raised, nothing to retry
    for name, document in documents.items():
        r = await thumbnail(client, owner, document["id"])
        assert (name, r.status_code, problem(r)["code"]) == (name, 404, "thumbnail_failed")
    assert decoded(await thumbnail(client, owner, fine["id"])).size == (300, 200)

    stored = await records(database_url)
    failed = [x for x in stored if x["status"] == "failed"]
    assert len(failed) == len(files)
    assert all(x["sha256"] is None and x["error"] for x in failed)
    by_document = {x["document_id"]: x["error"] for x in failed}
    assert "more than 50000000" in by_document[documents["big.png"]["id"]]
    assert "out of bounds" in by_document[documents["huge-page.pdf"]["id"]]
    # only the files and the one good thumbnail are stored
    assert len(blob_store.blobs()) == len(files) + 2

    # a failure is final: running the jobs again renders nothing and changes nothing
    puts = blob_store.puts
    await run_jobs(jobs, database_url)
    assert await records(database_url) == stored
    assert blob_store.puts == puts


async def test_a_purge_deletes_thumbnails_no_other_version_shares(
    client: Client, database_url: str, jobs: Kernel, blob_store: DirectoryBlobStore
) -> None:
    owner, org = await owner_and_org(client, database_url)
    picture = image_of((500, 500), "purple")
    one = await uploaded(client, owner, org, picture, file_name="one.png")
    two = await uploaded(client, owner, org, picture, file_name="two.png", title="same bytes")
    alone = await uploaded(client, owner, org, pdf_of((200, 100), "orange"))
    await run_jobs(jobs, database_url)
    shared_thumb = sha((await thumbnail(client, owner, one["id"])).content)
    alone_thumb = sha((await thumbnail(client, owner, alone["id"])).content)
    assert (await ref_counts(database_url))[shared_thumb] == 2  # one's and two's

    for document in (one, alone):
        assert (await client.delete(f"{DOCS}/{document['id']}", headers=owner.auth)).status_code
        r = await client.delete(f"{DOCS}/{document['id']}/permanent", headers=owner.auth)
        assert r.status_code == 204, r.text
    assert alone_thumb not in blob_store.blobs()
    assert shared_thumb in blob_store.blobs()  # two still shows it
    counts = await ref_counts(database_url)
    assert alone_thumb not in counts
    assert counts[shared_thumb] == 1
    assert [x["document_id"] for x in await records(database_url)] == [two["id"]]
    assert decoded(await thumbnail(client, owner, two["id"])).size == (400, 400)

    # the job of a purged version, delivered again, does nothing
    puts = blob_store.puts
    await run_jobs(jobs, database_url)
    assert blob_store.puts == puts
    assert [x["document_id"] for x in await records(database_url)] == [two["id"]]


async def test_a_purge_while_the_job_renders_leaves_nothing_behind(
    client: Client, database_url: str, jobs: Kernel, blob_store: DirectoryBlobStore
) -> None:
    owner, org = await owner_and_org(client, database_url)
    document = await uploaded(client, owner, org, image_of((64, 64), "teal"), file_name="t.png")
    before = blob_store.blobs()
    (args,) = await requested(database_url)
    # hold the job's put of the WebP (bytes written, not yet linked) while the purge runs
    blob_store.barrier = asyncio.Barrier(2)
    job = asyncio.create_task(inject(make_thumbnail.fn, jobs.services)(None, *args))
    for _ in range(2000):
        if blob_store.barrier.n_waiting or job.done():
            break
        await asyncio.sleep(0.005)
    assert blob_store.barrier.n_waiting == 1, "the job never reached its put"
    assert (await client.delete(f"{DOCS}/{document['id']}", headers=owner.auth)).status_code
    r = await client.delete(f"{DOCS}/{document['id']}/permanent", headers=owner.auth)
    assert r.status_code == 204
    await blob_store.barrier.wait()
    await job
    assert await records(database_url) == []
    assert await ref_counts(database_url) == {}
    assert blob_store.blobs() == set()  # the file and the WebP the job stored: both gone
    assert before  # (the file was there before)


async def test_backfill_queues_the_versions_that_have_none(
    client: Client, database_url: str, jobs: Kernel, settings: Settings
) -> None:
    owner, org = await owner_and_org(client, database_url)
    # uploaded "before thumbnails existed": its job request never was
    old = await uploaded(client, owner, org, pdf_of((400, 400), "black"))
    await fetch(
        database_url, "DELETE FROM content.outbox WHERE event_type = 'kernel.job_requested'"
    )
    await uploaded(client, owner, org, b"plain words\n", file_name="notes.txt")
    made = await uploaded(client, owner, org, image_of((20, 20), "white"), file_name="m.png")
    await run_jobs(jobs, database_url)
    assert (await thumbnail(client, owner, old["id"])).status_code == 404

    @asynccontextmanager
    async def open_kernel() -> AsyncIterator[Kernel]:
        """The command's own kernel, on the command's own event loop (as `hub` opens it)."""
        assert settings.database_url is not None
        assert settings.redis_url is not None
        kernel = Kernel(settings, settings.database_url, settings.redis_url)
        try:
            assemble(kernel, context_modules())
            yield kernel
        finally:
            await kernel.close()

    async def backfill() -> str:
        result = await asyncio.to_thread(
            CliRunner().invoke,
            thumbnails_command,
            ["backfill"],
            obj=CommandServices(open_kernel),
        )
        assert result.exit_code == 0, result.output
        return result.output

    assert await backfill() == "1 thumbnail job queued\n"  # not the text, not the made one
    assert (await requested(database_url))[-1] == [old["id"], 1]
    await run_jobs(jobs, database_url)
    assert decoded(await thumbnail(client, owner, old["id"])).size == (400, 400)
    assert await backfill() == "0 thumbnail jobs queued\n"
    assert [x["document_id"] for x in await records(database_url)] == sorted(
        [old["id"], made["id"]]
    )


@pytest.fixture
async def worker(settings: Settings, clean_state: None) -> AsyncIterator[InProcessWorker]:
    w = InProcessWorker(fast_job_settings(settings), context_modules(), threads=2, scheduler=False)
    w.start()
    try:
        yield w
    finally:
        await asyncio.to_thread(w.stop)


async def test_a_worker_makes_the_thumbnail(
    client: Client, database_url: str, worker: InProcessWorker
) -> None:
    owner, org = await owner_and_org(client, database_url)
    document = await uploaded(client, owner, org, pdf_of((800, 600), "navy"))
    await worker.drain()
    assert decoded(await thumbnail(client, owner, document["id"])).size == (400, 300)


async def test_the_document_states_the_thumbnail_route(client: Client) -> None:
    document = (await client.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/v1/documents/{document_id}/thumbnail"]["get"]
    assert operation["operationId"] == "getDocumentThumbnail"
    assert "image/webp" in operation["responses"]["200"]["content"]
    assert {"304", "401", "404"} <= set(operation["responses"])
    for code in ("thumbnail_not_ready", "no_thumbnail", "thumbnail_failed"):
        assert code in operation["description"]
    assert make_thumbnail in bootstrap.build().jobs
