"""The consumption folder's rules without a server: which paths are left alone, when a
file is settled, how odd names are shown, what subfolders make tags of, and what a scan
of a real directory finds."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.content.domain.consume import (
    MAX_FILES_PER_SCAN,
    folder_tags,
    ignored,
    settled,
    shown,
)
from hub.content.services.consume_scan import found_files

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_hidden_and_temporary_names_are_left_alone_wherever_they_are() -> None:
    for parts in (
        (".DS_Store",),
        ("._invoice.pdf",),
        (".stfolder", "a.pdf"),
        (".hub", "processing", "x"),
        ("Scans", "@eaDir", "thumb.jpg"),
        ("Desktop.ini",),
        ("Thumbs.db",),
        ("~$report.docx",),
        ("big.pdf.part",),
        ("a.TMP",),
        ("video.crdownload",),
    ):
        assert ignored(parts), parts
    for parts in (("invoice.pdf",), ("Scans", "2026", "a.pdf"), ("tmp", "a.pdf"), ("a.tmp.pdf",)):
        assert not ignored(parts), parts


def test_a_file_is_settled_once_unchanged_for_the_settle_time() -> None:
    assert settled(NOW - timedelta(seconds=10), NOW, 10)
    assert not settled(NOW - timedelta(seconds=9), NOW, 10)
    assert not settled(NOW + timedelta(hours=1), NOW, 10)  # a clock set wrong
    assert settled(NOW, NOW, 0)


def test_names_are_shown_as_valid_text_and_subfolders_make_tags() -> None:
    raw = os.fsdecode(b"caf\xe9\x01 \x1b.pdf")  # Latin-1 and controls, as a disk holds them
    assert shown(raw) == "caf\ufffd .pdf"
    assert shown("Cafe\u0301.pdf") == "Caf\u00e9.pdf"  # NFC
    assert folder_tags(("Invoices", "2026", "a.pdf")) == ("Invoices", "2026")
    assert folder_tags(("invoices", "INVOICES", " ", "a.pdf")) == ("invoices",)
    assert folder_tags(("x" * 100, "a.pdf")) == ("x" * 64,)
    assert folder_tags(("a.pdf",)) == ()


def test_a_scan_finds_settled_regular_files_oldest_first(tmp_path: Path) -> None:
    def put(name: str, age: int) -> None:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        when = (NOW - timedelta(seconds=age)).timestamp()
        os.utime(path, (when, when))

    put("new.pdf", 60)
    put("deep/er/old.pdf", 600)
    put("fresh.pdf", 1)
    put(".hidden.pdf", 600)
    put("/".join(["d"] * 10) + "/too-deep.pdf", 600)
    (tmp_path / "link.pdf").symlink_to(tmp_path / "new.pdf")
    os.mkfifo(tmp_path / "pipe.pdf")
    (tmp_path / "empty.pdf").touch()  # a scanner's placeholder, still empty
    when = (NOW - timedelta(seconds=600)).timestamp()
    os.utime(tmp_path / "empty.pdf", (when, when))
    found = found_files(tmp_path, NOW, 10)
    assert [f.parts for f in found] == [("deep", "er", "old.pdf"), ("new.pdf",)]
    assert (found[0].size, found[0].path) == (1, tmp_path / "deep" / "er" / "old.pdf")
    for i in range(MAX_FILES_PER_SCAN + 5):
        put(f"many/{i:03}.pdf", 1000 - i)
    found = found_files(tmp_path, NOW, 10)
    assert len(found) == MAX_FILES_PER_SCAN
    assert found[0].parts == ("many", "000.pdf")
