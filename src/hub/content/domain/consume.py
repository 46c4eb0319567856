"""The consumption folder (Paperless-ngx's consume directory), without I/O: which files
in an organisation's folder are taken, when a file is done being written, what its
subfolders say, and the names shown for it.

Each organisation has its own folder, ``HUB_CONTENT_CONSUME_DIR/<organisation id>/``: a
scanner or a sync client drops files there, and the hub takes each one that has not
changed for ``HUB_CONTENT_CONSUME_SETTLE_SECONDS`` (still being written otherwise).
The hub's own bookkeeping lives in ``.hub/`` inside it (``processing/``, ``failed/``),
which the scan, like every hidden name, leaves alone.
"""

from __future__ import annotations

import fnmatch
import unicodedata
from datetime import datetime, timedelta

from hub.content.domain.documents import MAX_TAG_NAME, MAX_TAGS, clean_text

#: The hub's own folder inside an organisation's folder (hidden: never scanned).
OWN = ".hub"
PROCESSING = "processing"
FAILED = "failed"
#: Files one scan takes from one organisation's folder (the oldest first).
MAX_FILES_PER_SCAN = 100
#: Entries one scan looks at (files and folders) before it stops looking.
MAX_ENTRIES_PER_SCAN = 10_000
#: Folders below the organisation's that are looked into.
MAX_DEPTH = 8
#: How long a claimed file may stay in ``processing`` before a later scan takes it
#: back (the worker that claimed it died).
LEASE = timedelta(minutes=15)
#: Days the record of a consumed or failed file is kept.
RECORD_DAYS = 90
STATUSES = ("processing", "consumed", "failed")
MAX_ERROR = 500
#: Names left alone besides hidden ones (Paperless-ngx's default ignore patterns, and
#: the files browsers, office programs and sync clients keep while they write).
IGNORED = (
    "desktop.ini",
    "thumbs.db",
    "@eadir",
    "*.part",
    "*.tmp",
    "*.crdownload",
    "~$*",
)


def ignored(parts: tuple[str, ...]) -> bool:
    """Whether a path below the organisation's folder is left alone: a hidden name
    (``.DS_Store``, ``._x``, ``.stfolder``, the hub's ``.hub``) or one of
    :data:`IGNORED` anywhere in it."""
    for part in parts:
        name = part.casefold()
        if name.startswith(".") or any(fnmatch.fnmatchcase(name, p) for p in IGNORED):
            return True
    return False


def settled(modified: datetime, now: datetime, settle_seconds: int) -> bool:
    """A file last changed at least ``settle_seconds`` ago is complete (a change in the
    future, a clock set wrong, counts as being written)."""
    return modified <= now - timedelta(seconds=settle_seconds)


def shown(raw: str) -> str:
    """A path as the hub stores and shows it: bytes that were not UTF-8 (Python keeps
    them as lone surrogates) replaced, control characters removed, NFC."""
    text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join(c for c in text if unicodedata.category(c) != "Cc")
    return unicodedata.normalize("NFC", text)[:1000]


def folder_tags(parts: tuple[str, ...]) -> tuple[str, ...]:
    """The tag names the subfolders of a file's path stand for (``Invoices/2026/a.pdf``:
    ``Invoices``, ``2026``), when the folder is set to use them; blank names left out,
    long ones cut to a tag name's length."""
    names: dict[str, str] = {}
    for part in parts[:-1]:
        name = clean_text(shown(part))[:MAX_TAG_NAME].strip()
        if name:
            names.setdefault(name.casefold(), name)
    return tuple(names.values())[:MAX_TAGS]
