"""The consumption folder (Paperless-ngx's consume directory) on a real file system: the
settled files an organisation's folder holds become its documents and leave the folder;
hidden, temporary, unfinished and linked files are left alone; a refused file moves to
``.hub/failed/``; claims a dead worker left behind are finished or put back, never made
into documents twice."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.kernel.clock import MovableClock
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.integration.communication.support_periodic import periodic_kernel
from tests.integration.content.support import DOCS, document_type, pdf, uploaded
from tests.integration.identity.support import API, fetch
from tests.integration.identity.support_orgs import Person, create_org, join, person
from tests.integration.workflow.support import INSTANCES, approval, published, team
from tests.support import problem

Client = Any


@pytest.fixture
def consume_root(tmp_path: Path) -> Path | None:
    """The consumption folders' root (a test parametrizes ``None``: not configured)."""
    return tmp_path


@pytest.fixture
def settings(settings: Settings, consume_root: Path | None) -> Settings:
    return settings.replace(content_consume_dir=consume_root)


def url(org: str) -> str:
    return f"{API}/orgs/{org}/consume-folder"


def drop(path: Path, data: bytes, *, age: float = 60) -> Path:
    """A file written ``age`` seconds ago (negative: still being written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


async def documents(client: Client, who: Person, org: str) -> dict[str, Any]:
    r = await client.get(DOCS, params={"organisationId": org}, headers=who.auth)
    return {d["fileName"]: d for d in r.json()["items"]}


async def scan(client: Client, who: Person, org: str, events: InProcessWorker) -> None:
    r = await client.post(f"{url(org)}/scan", headers=who.auth)
    assert r.status_code == 202, r.text
    await events.drain(within=30)


async def test_settled_files_become_documents_and_leave_the_folder(
    client: Client, database_url: str, events: InProcessWorker, tmp_path: Path
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.post(f"{API}/orgs/{org}/tags", json={"name": "Scanned"}, headers=owner.auth)
    scanned = r.json()["id"]
    kind = await document_type(client, owner, org)
    assert (await client.get(url(org), headers=owner.auth)).status_code == 404
    body = {"tagIds": [scanned], "documentTypeId": kind, "subfoldersAsTags": True}
    r = await client.put(url(org), json=body, headers=owner.auth)
    assert r.status_code == 200, r.text
    folder = r.json()
    assert (folder["folder"], folder["ownerId"], folder["enabled"]) == (org, owner.user_id, True)
    base = tmp_path / org
    assert (base / ".hub" / "processing").is_dir()

    drop(base / "scan.pdf", pdf(b"scan"))
    drop(base / "Invoices" / "2026" / "inv.pdf", pdf(b"invoice"))
    odd = drop(base / os.fsdecode(b"caf\xe9\x01.pdf"), pdf(b"odd bytes"))  # not UTF-8
    refused = drop(base / "tools" / "setup.exe", b"MZ\x90\x00" + bytes(200))
    left = [
        drop(base / ".DS_Store", b"finder"),
        drop(base / "._scan.pdf", pdf(b"resource fork")),
        drop(base / "~$draft.docx", b"lock"),
        drop(base / "big.pdf.part", pdf(b"downloading")),
        drop(base / ".stfolder" / "x.pdf", pdf(b"sync")),
        drop(base / "fresh.pdf", pdf(b"still being written"), age=-3600),
    ]
    (base / "link.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    drop(tmp_path / "elsewhere.pdf", pdf(b"outside the folder"))
    await scan(client, owner, org, events)

    docs = await documents(client, owner, org)
    assert set(docs) == {"scan.pdf", "inv.pdf", "caf\ufffd.pdf"}, docs.keys()
    invoice = docs["inv.pdf"]
    assert (invoice["ownerId"], invoice["documentTypeId"]) == (owner.user_id, kind)
    assert sorted(t["name"] for t in invoice["tags"]) == ["2026", "Invoices", "Scanned"]
    assert [t["name"] for t in docs["scan.pdf"]["tags"]] == ["Scanned"]
    content = await client.get(f"{DOCS}/{invoice['id']}/content", headers=owner.auth)
    assert content.content == pdf(b"invoice")
    assert not (base / "scan.pdf").exists()
    assert not (base / "Invoices" / "2026" / "inv.pdf").exists()
    assert not odd.exists()
    assert all(path.exists() for path in left)
    assert (base / "link.pdf").is_symlink()
    assert not refused.exists()
    assert (base / ".hub" / "failed" / "tools" / "setup.exe").read_bytes().startswith(b"MZ")
    assert list((base / ".hub" / "processing").iterdir()) == []

    r = await client.get(f"{url(org)}/files", headers=owner.auth)
    files = {f["name"]: f for f in r.json()["items"]}
    assert set(files) == {"scan.pdf", "Invoices/2026/inv.pdf", "caf\ufffd.pdf", "tools/setup.exe"}
    assert files["scan.pdf"]["status"] == "consumed"
    assert files["scan.pdf"]["documentId"] == docs["scan.pdf"]["id"]
    assert (files["tools/setup.exe"]["status"], files["tools/setup.exe"]["documentId"]) == (
        "failed",
        None,
    )
    assert "are not accepted here" in files["tools/setup.exe"]["error"]
    # Paged, the latest first, each file once.
    r = await client.get(f"{url(org)}/files", params={"limit": 3}, headers=owner.auth)
    cursor = r.json()["nextCursor"]
    rest = await client.get(f"{url(org)}/files", params={"cursor": cursor}, headers=owner.auth)
    paged = [f["id"] for f in r.json()["items"] + rest.json()["items"]]
    assert sorted(paged) == sorted(f["id"] for f in files.values())
    assert rest.json()["nextCursor"] is None
    r = await client.get(url(org), headers=owner.auth)
    assert (r.json()["lastError"], r.json()["lastScannedAt"] is not None) == (None, True)

    # A second scan takes nothing again; a new file is taken.
    drop(base / "later.pdf", pdf(b"later"))
    await scan(client, owner, org, events)
    assert set(await documents(client, owner, org)) == {
        "scan.pdf",
        "inv.pdf",
        "caf\ufffd.pdf",
        "later.pdf",
    }
    # Switched off, the folder is left alone; removed, its settings go and its files stay.
    r = await client.put(url(org), json={"enabled": False}, headers=owner.auth)
    assert (r.status_code, r.json()["enabled"], r.json()["tagIds"]) == (200, False, [])
    drop(base / "ignored.pdf", pdf(b"off"))
    await scan(client, owner, org, events)
    assert "ignored.pdf" not in await documents(client, owner, org)
    assert (await client.delete(url(org), headers=owner.auth)).status_code == 204
    assert (await client.get(url(org), headers=owner.auth)).status_code == 404
    assert (base / "ignored.pdf").exists()


async def test_a_workflow_trigger_can_start_for_scans_of_one_subfolder(
    client: Client, database_url: str, events: InProcessWorker, tmp_path: Path
) -> None:
    """``content.document.uploaded`` says where a document came from: a trigger filtered
    on ``origin`` and ``originRef`` starts for files of ``Invoices/`` only."""
    owner, org, _ = await team(client, database_url)
    trigger = {
        "event": "content.document.uploaded",
        "filter": "event.origin == 'folder' && event.originRef.startsWith('Invoices/')",
        "variables": {"path": "event.originRef"},
    }
    await published(client, owner, org, definition=approval(triggers=[trigger]))
    await client.put(url(org), json={}, headers=owner.auth)
    drop(tmp_path / org / "Invoices" / "a.pdf", pdf(b"invoice"))
    drop(tmp_path / org / "Letters" / "b.pdf", pdf(b"letter"))
    await scan(client, owner, org, events)
    await uploaded(client, owner, org, b"typed", file_name="Invoices-c.txt")
    await events.drain(within=30)

    docs = await documents(client, owner, org)
    assert set(docs) == {"a.pdf", "b.pdf", "Invoices-c.txt"}
    r = await client.get(INSTANCES, params={"organisationId": org}, headers=owner.auth)
    (instance,) = r.json()["items"]
    assert instance["subject"]["documentId"] == docs["a.pdf"]["id"]
    assert instance["variables"] == {"path": "Invoices/a.pdf"}


async def test_scans_at_once_take_each_file_once(
    client: Client,
    settings: Settings,
    database_url: str,
    events: InProcessWorker,
    tmp_path: Path,
) -> None:
    """Four scans of one folder at once (as several workers, or a manual scan beside the
    periodic one): every file becomes exactly one document, and no claim is left."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await client.put(url(org), json={}, headers=owner.auth)
    for i in range(12):
        drop(tmp_path / org / f"scan-{i:02}.pdf", pdf(f"page {i}".encode()))
    async with periodic_kernel(settings, MovableClock()) as kernel:
        consumer = kernel.services["folder_consumer"]
        made = await asyncio.gather(*(consumer.scan(uuid.UUID(org)) for _ in range(4)))
    assert sum(made) == 12
    await events.drain(within=60)
    assert sorted(await documents(client, owner, org)) == [f"scan-{i:02}.pdf" for i in range(12)]
    rows = await fetch(
        database_url,
        "SELECT status, count(*) AS n FROM content.consumed_files GROUP BY status",
    )
    assert {row["status"]: row["n"] for row in rows} == {"consumed": 12}
    assert list((tmp_path / org / ".hub" / "processing").iterdir()) == []


async def test_claims_a_dead_worker_left_are_finished_or_put_back(
    client: Client, database_url: str, events: InProcessWorker, tmp_path: Path
) -> None:
    """What a worker killed mid-file leaves: its claim record and the file it moved into
    ``.hub/processing``. A committed document's file is deleted (not made again), a
    stale claim's file goes back and is consumed once, a fresh claim is left to its
    worker, a stale claim whose file never moved is forgotten."""
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    await client.put(url(org), json={}, headers=owner.auth)
    base = tmp_path / org
    processing = base / ".hub" / "processing"
    now = datetime.now(UTC)

    async def claim(name: str, status: str, claimed: datetime, *, held: bool = True) -> str:
        claim_id = uuid.uuid4()
        await fetch(
            database_url,
            "INSERT INTO content.consumed_files (id, organisation_id, name, size, status, "
            "claimed_at) VALUES ($1, $2, $3, 1, $4, $5)",
            claim_id,
            uuid.UUID(org),
            name,
            status,
            claimed,
        )
        if held:
            drop(processing / str(claim_id), pdf(name.encode()))
        return str(claim_id)

    done = await claim("done.pdf", "consumed", now - timedelta(minutes=1))
    stale = await claim("back/again.pdf", "processing", now - timedelta(hours=1))
    busy = await claim("busy.pdf", "processing", now)
    lost = await claim("lost.pdf", "processing", now - timedelta(hours=1), held=False)
    await scan(client, owner, org, events)

    assert set(await documents(client, owner, org)) == {"again.pdf"}
    assert sorted(p.name for p in processing.iterdir()) == [busy]
    rows = await fetch(
        database_url,
        "SELECT id::text, name, status FROM content.consumed_files WHERE organisation_id = $1",
        uuid.UUID(org),
    )
    by_id = {row["id"]: (row["name"], row["status"]) for row in rows}
    assert by_id[done] == ("done.pdf", "consumed")
    assert by_id[busy] == ("busy.pdf", "processing")
    assert stale not in by_id
    assert lost not in by_id
    assert sorted(by_id.values()) == [
        ("back/again.pdf", "consumed"),
        ("busy.pdf", "processing"),
        ("done.pdf", "consumed"),
    ]


async def test_who_may_set_it_up_and_what_is_refused(
    client: Client, database_url: str, events: InProcessWorker, tmp_path: Path
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    member = await join(client, database_url, org, owner, "ann@example.com", None)
    r = await client.put(url(org), json={}, headers=member.auth)
    assert (r.status_code, problem(r)["code"]) == (403, "permission_denied")
    missing = "00000000-0000-7000-8000-000000000000"
    for change, field in (({"tagIds": [missing]}, "tagIds"), ({"documentTypeId": missing}, "")):
        r = await client.put(url(org), json=change, headers=owner.auth)
        assert r.status_code == 422, r.text
        if field:
            assert r.json()["errors"][0]["field"] == field
    r = await client.put(url(org), json={"subfoldersAsTags": "yes"}, headers=owner.auth)
    assert r.status_code == 400
    assert (await client.get(url(org), headers=owner.auth)).status_code == 404
    assert not (tmp_path / org).exists()  # nothing was made by a refused request
    # Another organisation's owner cannot see or scan this one.
    other = await person(client, database_url, "other@example.com")
    await client.put(url(org), json={}, headers=owner.auth)
    assert (await client.get(url(org), headers=other.auth)).status_code == 404
    assert (await client.post(f"{url(org)}/scan", headers=other.auth)).status_code == 404

    # Set up by an admin who then leaves: the folder reads nothing, and says why, until
    # someone who may saves it again (and becomes its owner).
    admin = await join(client, database_url, org, owner, "admin@example.com", ["admin"])
    r = await client.put(url(org), json={}, headers=admin.auth)
    assert r.json()["ownerId"] == admin.user_id
    r = await client.delete(f"{API}/orgs/{org}/members/{admin.user_id}", headers=owner.auth)
    assert r.status_code == 204, r.text
    drop(tmp_path / org / "waiting.pdf", pdf(b"waiting"))
    await scan(client, owner, org, events)
    assert (tmp_path / org / "waiting.pdf").exists()
    assert (
        "owner is no longer a member"
        in (await client.get(url(org), headers=owner.auth)).json()["lastError"]
    )
    await client.put(url(org), json={}, headers=owner.auth)
    await scan(client, owner, org, events)
    assert set(await documents(client, owner, org)) == {"waiting.pdf"}
    assert (await client.get(url(org), headers=owner.auth)).json()["lastError"] is None


@pytest.mark.parametrize("consume_root", [None])
async def test_without_a_root_the_folder_cannot_be_set_up(
    client: Client, database_url: str
) -> None:
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    r = await client.put(url(org), json={}, headers=owner.auth)
    assert (r.status_code, problem(r)["code"]) == (409, "consume_folder_unavailable")
    assert "HUB_CONTENT_CONSUME_DIR" in problem(r)["detail"]
    r = await client.post(f"{url(org)}/scan", headers=owner.auth)
    assert (r.status_code, problem(r)["code"]) == (409, "consume_folder_unavailable")
