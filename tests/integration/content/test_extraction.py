"""Text extraction: every supported format read by the ``content.extract_text`` job in a
child process, the status on the document and its versions, OCR when Tesseract is there
(``ocr_unavailable`` when it is not), and hostile files contained: a decompression bomb,
a zip bomb and a PDF slower than the time-out fail cleanly while the worker goes on.

Files are built by the tests (``support_extraction``); the text is read where it is
stored (``content.version_texts``), the status through the API.
"""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.app import context_modules
from hub.cli import main as hub_cli
from hub.content.domain.extraction import MAX_TEXT_CHARS
from hub.content.services.extraction.sandbox import ExtractionFailed, run
from hub.kernel.deadletter import list_dead
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.content.support import DOCS, add_version, cli_env, uploaded
from tests.integration.content.support_extraction import (
    docx_with,
    extraction_of,
    extraction_settings,
    needs_tesseract,
    odt_with,
    pdf_with_text,
    png_bomb,
    png_of_text,
    scanned_pdf_of_text,
    slow_pdf,
    xlsx_with,
    zip_bomb_docx,
)
from tests.integration.identity.support import fetch
from tests.integration.identity.support_orgs import Person, create_org, person

Client = AsyncTestClient[Litestar]


@pytest.fixture
def extraction_timeout() -> int:
    """Seconds an extraction may take (a test parametrizes a shorter one)."""
    return 30


@pytest.fixture
def settings(settings: Settings, extraction_timeout: int) -> Settings:
    return extraction_settings(settings, extraction_timeout)


@pytest.fixture
async def owner(client: Client, database_url: str) -> tuple[Person, str]:
    who = await person(client, database_url, "owner@example.com")
    return who, (await create_org(client, who))["id"]


async def stored(database_url: str, document_id: str, version: int = 1) -> Any:
    (row,) = await fetch(
        database_url,
        "SELECT status, text, truncated, ocr, error FROM content.version_texts "
        "WHERE document_id = $1 AND version = $2",
        uuid.UUID(document_id),
        version,
    )
    return row


HTML = b"""<!doctype html><html><head><title>Quarterly notes</title>
<style>body { color: red } .secret-style {}</style>
<script>var secretScript = "never text";</script></head>
<body><h1>Revenue grew</h1><p>by <b>twelve</b> percent</p>
<noscript>enable javascript</noscript></body></html>"""


def eml() -> bytes:
    """A mail with only an HTML body (script in it) and an attachment."""
    message = EmailMessage()
    message["From"] = "Comptabilité <compta@fournisseur.example>"
    message["To"] = "docs@clinic.example"
    message["Subject"] = "Facture n° 42"
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    message.set_content(
        "<p>Montant d\u00fb : <b>120 EUR</b></p><script>var mailScript = 1;</script>",
        subtype="html",
    )
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="f.pdf")
    return message.as_bytes()


#: (file name, bytes, words the text must hold, words it must not)
FORMATS: dict[str, tuple[str, bytes, list[str], list[str]]] = {
    "plain": (
        "notes.txt",
        b"Plain words \xc3\xa9t\xc3\xa9 here\n",
        ["Plain words \u00e9t\u00e9 here"],
        [],
    ),
    "markdown": ("readme.md", b"# Title\n\nSome *markdown* text\n", ["# Title", "*markdown*"], []),
    "csv": ("prices.csv", b'item,price\napple,1.25\n"pear, green",2\n', ["item\tprice"], []),
    "html": (
        "page.html",
        HTML,
        ["Quarterly notes", "Revenue grew", "twelve"],
        [
            "secretScript",
            "secret-style",
            "color: red",
            "enable javascript",
        ],
    ),
    "eml": (
        "facture.eml",
        eml(),
        [
            "From: Comptabilité <compta@fournisseur.example>",
            "To: docs@clinic.example",
            "Subject: Facture n° 42",
            "Attachments: f.pdf",
            "Montant d\u00fb :",
            "120 EUR",
        ],
        ["mailScript", "%PDF"],
    ),
    "pdf": (
        "report.pdf",
        pdf_with_text(["Annual report 2026", "Profit (net) rose"]),
        [
            "Annual report 2026",
            "Profit (net) rose",
        ],
        [],
    ),
    "docx": (
        "letter.docx",
        docx_with(["Dear customer", "Your order shipped"]),
        [
            "Dear customer\nYour order shipped",
        ],
        [],
    ),
    "xlsx": (
        "sheet.xlsx",
        xlsx_with([["Item", "Price"], ["Widget", 4.5]]),
        [
            "Prices",
            "Item\tPrice",
            "Widget\t4.5",
        ],
        [],
    ),
    "odt": (
        "minutes.odt",
        odt_with("Minutes", "The board approved the budget"),
        [
            "Minutes\nThe board approved the budget",
        ],
        [],
    ),
}


async def test_each_format_is_extracted(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    """One document per format, extracted by one worker run (a worker per format would
    spend most of the time starting and stopping)."""
    who, org = owner
    docs = {}
    for kind, (name, content, _, _) in FORMATS.items():
        docs[kind] = await uploaded(client, who, org, content, file_name=name)
    await events.drain(within=30)
    for kind, (_, _, present, absent) in FORMATS.items():
        document_id = docs[kind]["id"]
        assert await extraction_of(client, who, document_id) == "ready", kind
        row = await stored(database_url, document_id)
        assert (row["status"], row["truncated"], row["ocr"], row["error"]) == (
            "ready",
            False,
            False,
            None,
        ), kind
        for text in present:
            assert text in row["text"], (kind, text, row["text"])
        for text in absent:
            assert text not in row["text"], (kind, text, row["text"])


async def test_status_goes_from_pending_to_ready_on_the_document_and_its_versions(
    client: Client, settings: Settings, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    doc = await uploaded(client, who, org, b"first text", file_name="a.txt")
    assert doc["extraction"] == {"status": "pending"}  # the upload's own answer
    assert await extraction_of(client, who, doc["id"]) == "pending"  # no worker yet
    worker = InProcessWorker(
        fast_job_settings(settings), context_modules(), threads=2, scheduler=False
    ).start()
    try:
        await worker.drain()
        assert await extraction_of(client, who, doc["id"]) == "ready"
        r = await add_version(client, who, doc["id"], b"second text", file_name="b.txt")
        assert r.status_code == 201, r.text
        assert r.json()["extraction"] == {"status": "pending"}
        assert await extraction_of(client, who, doc["id"]) == "pending"
        await worker.drain()
        assert await extraction_of(client, who, doc["id"]) == "ready"
        assert (await stored(database_url, doc["id"], 2))["text"] == "second text"
        # a restored version is a new version whose text is its source's
        r = await client.post(f"{DOCS}/{doc['id']}/versions/1/restore", headers=who.auth)
        assert r.status_code == 201, r.text
        assert (r.json()["version"], r.json()["extraction"]) == (3, {"status": "pending"})
        await worker.drain()
    finally:
        await asyncio.to_thread(worker.stop)
    assert (await stored(database_url, doc["id"], 3))["text"] == "first text"
    r = await client.get(f"{DOCS}/{doc['id']}/versions", headers=who.auth)
    assert [(v["version"], v["extraction"]["status"]) for v in r.json()["items"]] == [
        (3, "ready"),
        (2, "ready"),
        (1, "ready"),
    ]


async def test_hub_documents_extract_queues_versions_never_extracted(
    client: Client, settings: Settings, database_url: str, owner: tuple[Person, str]
) -> None:
    """A version from before extraction existed has no row and no job: the command
    queues it (and nothing twice once it settled)."""
    who, org = owner
    doc = await uploaded(client, who, org, b"older text", file_name="old.txt")
    newer = await uploaded(client, who, org, b"newer text", file_name="new.txt")
    await fetch(database_url, "DELETE FROM content.version_texts")
    await fetch(database_url, "DELETE FROM content.outbox")  # its job was never queued
    env = cli_env(settings)
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, hub_cli, ["documents", "extract", "--limit", "1"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "queued text extraction of 1 version(s)" in result.output
    # the other one is left for the next run (queued ones are not queued again)
    result = await asyncio.to_thread(runner.invoke, hub_cli, ["documents", "extract"], env=env)
    assert "queued text extraction of 1 version(s)" in result.output
    assert await extraction_of(client, who, doc["id"]) == "pending"
    worker = InProcessWorker(
        fast_job_settings(settings), context_modules(), threads=2, scheduler=False
    ).start()
    try:
        await worker.drain()
    finally:
        await asyncio.to_thread(worker.stop)
    assert await extraction_of(client, who, doc["id"]) == "ready"
    assert (await stored(database_url, doc["id"]))["text"] == "older text"
    assert await extraction_of(client, who, newer["id"]) == "ready"
    result = await asyncio.to_thread(runner.invoke, hub_cli, ["documents", "extract"], env=env)
    assert "queued text extraction of 0 version(s)" in result.output
    for limit in ("0", "100001"):  # --limit N: from 1 to 100,000 per run
        refused = await asyncio.to_thread(
            runner.invoke, hub_cli, ["documents", "extract", "--limit", limit], env=env
        )
        assert refused.exit_code == 2, refused.output
        assert "--limit" in refused.output


async def test_a_type_no_extractor_reads_is_unsupported(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    ole = bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600  # an old .doc
    doc = await uploaded(client, who, org, ole, file_name="old.doc")
    await events.drain()
    assert await extraction_of(client, who, doc["id"]) == "unsupported"
    assert (await stored(database_url, doc["id"]))["text"] is None


async def test_without_tesseract_images_and_scans_are_ocr_unavailable(
    client: Client,
    events: InProcessWorker,
    database_url: str,
    owner: tuple[Person, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child looks Tesseract up on PATH: an empty PATH is a machine without it."""
    monkeypatch.setenv("PATH", str(tmp_path))
    who, org = owner
    image = await uploaded(client, who, org, png_of_text("Invoice 4711"), file_name="a.png")
    scan = await uploaded(client, who, org, scanned_pdf_of_text("Invoice 4711"), file_name="s.pdf")
    await events.drain()
    for doc in (image, scan):
        assert await extraction_of(client, who, doc["id"]) == "ocr_unavailable"
    r = await client.get(f"{DOCS}/{image['id']}/content", headers=who.auth)
    assert r.status_code == 200  # the document itself is as usable as ever


@needs_tesseract
async def test_ocr_reads_an_image_and_a_scanned_pdf(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    image = await uploaded(client, who, org, png_of_text("Invoice 4711 paid"), file_name="a.png")
    scan = await uploaded(
        client, who, org, scanned_pdf_of_text("Receipt 2026 total"), file_name="scan.pdf"
    )
    await events.drain()
    for doc, words in ((image, "Invoice 4711 paid"), (scan, "Receipt 2026 total")):
        assert await extraction_of(client, who, doc["id"]) == "ready"
        row = await stored(database_url, doc["id"])
        assert row["ocr"] is True
        assert words in row["text"]


async def _failed_for_good(
    client: Client, events: InProcessWorker, database_url: str, who: Person, doc: dict[str, Any]
) -> Any:
    await events.drain(within=60)
    assert await extraction_of(client, who, doc["id"]) == "failed"
    broker = events.background.broker
    dead = list_dead(broker.client, broker.namespace)
    assert [d.actor for d in dead] == ["content.extract_text"]
    assert dead[0].args == [doc["id"], 1]
    r = await client.get(f"{DOCS}/{doc['id']}/content", headers=who.auth)
    assert r.status_code == 200  # still downloadable
    return dead[0]


async def _worker_goes_on(client: Client, events: InProcessWorker, who: Person, org: str) -> None:
    after = await uploaded(client, who, org, b"still serving", file_name="next.txt")
    await events.drain()
    assert await extraction_of(client, who, after["id"]) == "ready"


async def test_a_decompression_bomb_fails_cleanly_and_the_worker_goes_on(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    doc = await uploaded(client, who, org, png_bomb(), file_name="bomb.png")
    dead = await _failed_for_good(client, events, database_url, who, doc)
    assert dead.attempts == 1  # refused for good: no retry can help
    row = await stored(database_url, doc["id"])
    assert (row["status"], row["error"], row["text"]) == ("failed", "too_large", None)
    await _worker_goes_on(client, events, who, org)


async def test_a_zip_bomb_docx_is_refused_before_it_is_unpacked(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    doc = await uploaded(client, who, org, zip_bomb_docx(), file_name="bomb.docx")
    assert doc["mediaType"].endswith("wordprocessingml.document")
    await _failed_for_good(client, events, database_url, who, doc)
    assert (await stored(database_url, doc["id"]))["error"] == "too_large"
    await _worker_goes_on(client, events, who, org)


@pytest.mark.parametrize("extraction_timeout", [1])
async def test_a_pdf_slower_than_the_time_out_is_killed_retried_then_failed(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    doc = await uploaded(client, who, org, slow_pdf(), file_name="slow.pdf")
    dead = await _failed_for_good(client, events, database_url, who, doc)
    assert dead.attempts == 3  # a time-out may pass: retried twice with backoff first
    assert (await stored(database_url, doc["id"]))["error"] == "timeout"
    await _worker_goes_on(client, events, who, org)


async def test_text_past_the_bound_is_cut_and_flagged(
    client: Client, events: InProcessWorker, database_url: str, owner: tuple[Person, str]
) -> None:
    who, org = owner
    doc = await uploaded(client, who, org, b"word " * (MAX_TEXT_CHARS // 4), file_name="big.txt")
    await events.drain(within=30)
    row = await stored(database_url, doc["id"])
    assert (row["status"], row["truncated"], len(row["text"])) == ("ready", True, MAX_TEXT_CHARS)


def test_the_child_is_held_to_its_memory_bound(tmp_path: Path) -> None:
    """RLIMIT_AS in the child: 100 MB of text cannot be read within 128 MiB, and the
    failure is the child's alone (a retryable ``memory`` failure, not a dead worker)."""
    path = tmp_path / "file"
    with path.open("wb") as out:
        for _ in range(100):
            out.write(b"a" * 1_000_000)
    with pytest.raises(ExtractionFailed) as failed:
        run(path, "text/plain", timeout_seconds=30, memory_mb=128, languages="eng")
    assert (failed.value.code, failed.value.permanent) == ("memory", False)
    small = tmp_path / "small"
    small.write_bytes(b"fits easily")
    found = run(small, "text/plain", timeout_seconds=30, memory_mb=128, languages="eng")
    assert (found.status, found.text) == ("ready", "fits easily")
