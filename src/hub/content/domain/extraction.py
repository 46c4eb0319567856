"""Text extraction and near-duplicate rules, free of I/O: statuses, which extractor reads
which media type, the bounds every extractor works within, how extracted text is cleaned
and capped, and the MinHash fingerprint that finds near-duplicates.

The fingerprint is datasketch's MinHash over word 3-grams: :data:`SLOTS` hash
permutations, the smallest value of each over the text's shingles (computed in batches,
vectorised by numpy). Two fingerprints agree in a slot with probability the Jaccard
similarity of the two shingle sets, so the fraction of agreeing slots estimates it.
Locality-sensitive hashing over :data:`BANDS` bands of :data:`ROWS_PER_BAND` slots finds
candidates with an index lookup instead of a comparison with every document.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

PENDING = "pending"
READY = "ready"
FAILED = "failed"
UNSUPPORTED = "unsupported"
OCR_UNAVAILABLE = "ocr_unavailable"
STATUSES = (PENDING, READY, FAILED, UNSUPPORTED, OCR_UNAVAILABLE)
#: Statuses a redelivered job leaves alone (``failed`` is run again: ``hub jobs retry``).
SETTLED = frozenset({READY, UNSUPPORTED, OCR_UNAVAILABLE})

#: Most characters of text kept per version (the rest is cut, ``truncated`` is set).
MAX_TEXT_CHARS = 2_000_000
#: Barcodes read per version, and characters kept of each (``domain.barcodes``; here so
#: that the extraction child, which reads them, imports nothing heavier than this).
MAX_BARCODES = 100
MAX_BARCODE_VALUE = 200

_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"

#: Which extractor reads which (sniffed) media type; anything else is ``unsupported``.
EXTRACTORS: dict[str, str] = {
    "text/plain": "text",
    "text/markdown": "text",
    "text/csv": "csv",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    f"{_OOXML}.wordprocessingml.document": "docx",
    f"{_OOXML}.spreadsheetml.sheet": "xlsx",
    f"{_OOXML}.presentationml.presentation": "pptx",
    f"{_ODF}.text": "odf",
    f"{_ODF}.spreadsheet": "odf",
    f"{_ODF}.presentation": "odf",
    "image/png": "image",
    "image/jpeg": "image",
    "image/gif": "image",
    "image/webp": "image",
    "image/tiff": "image",
    "message/rfc822": "eml",
}


#: Elements whose content is never text a reader sees.
_HIDDEN = ["script", "style", "noscript", "template", "svg", "object", "iframe"]


def html_text(markup: str) -> str:
    """The text a reader of an HTML page (or an HTML mail) sees, parsed by Lexbor's
    HTML5 parser (selectolax): scripts, styles and embedded objects left out."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    tree.strip_tags(_HIDDEN)
    root = tree.root
    return root.text(separator="\n") if root is not None else ""


def extractor_for(media_type: str) -> str | None:
    return EXTRACTORS.get(media_type.split(";", 1)[0].strip().lower())


@dataclass(frozen=True)
class Bounds:
    """What one extraction may use; past any of them it is refused (``too_large``)."""

    #: Pixels of one image (Pillow's decompression-bomb guard uses it).
    max_image_pixels: int = 64_000_000
    #: Pages of one PDF.
    max_pdf_pages: int = 2_000
    #: Pages of a scanned PDF that are OCR'd (the rest are left out).
    max_ocr_pages: int = 50
    #: Bytes a zip container (DOCX, XLSX, ODT…) may unpack to, over all its entries.
    max_unzipped_bytes: int = 256 * 1024 * 1024
    #: Largest compression ratio of an entry bigger than :attr:`ratio_floor_bytes`.
    max_compression_ratio: int = 200
    ratio_floor_bytes: int = 4 * 1024 * 1024
    #: Entries of one zip container.
    max_zip_entries: int = 10_000


#: A text layer shorter than this (non-blank characters) means a scanned PDF: OCR it.
MIN_TEXT_LAYER_CHARS = 16

_NUL_AND_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"[ \u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def clean_extracted(raw: str) -> tuple[str, bool]:
    """Text as stored: valid UTF-8 (lone surrogates replaced), no NUL or other control
    characters (PostgreSQL refuses NUL), runs of spaces and of blank lines collapsed (tabs
    kept: they separate cells), at most :data:`MAX_TEXT_CHARS` characters. Returns the
    text and whether it was cut."""
    text = raw.encode("utf-8", "replace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _NUL_AND_CONTROLS.sub(" ", text)
    text = _BLANK_RUNS.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _MANY_NEWLINES.sub("\n\n", text).strip()
    if len(text) > MAX_TEXT_CHARS:
        return text[:MAX_TEXT_CHARS], True
    return text, False


# --------------------------------------------------------------------------- fingerprints

SLOTS = 128
ROWS_PER_BAND = 4
BANDS = SLOTS // ROWS_PER_BAND
SHINGLE_WORDS = 3
#: Near-duplicates listed: estimated Jaccard similarity of word 3-grams at least this.
MIN_SIMILARITY = 0.7
#: Candidates compared per fingerprinted document (those sharing the most bands first).
MAX_CANDIDATES = 200
#: Near-duplicates kept per document (the most similar).
MAX_NEAR_DUPLICATES = 20
#: Duplicates a document view lists.
MAX_LISTED = 20

#: Shingles hashed per numpy batch (a batch holds SLOTS values per shingle).
_BATCH = 4096
#: Fixed: fingerprints stored today must stay comparable with tomorrow's.
_SEED = 1
_WORD = re.compile(r"\w+")


def _signed(value: int) -> int:
    """An unsigned 64-bit value as PostgreSQL's signed ``bigint``."""
    return value - (1 << 64) if value >= 1 << 63 else value


def shingles(text: str) -> set[str]:
    """Word 3-grams of the case-folded text (the words themselves below three words)."""
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - 2)}


def fingerprint(text: str) -> list[int] | None:
    """The :data:`SLOTS`-value MinHash of ``text`` (each below 2**32), or None without
    words."""
    found = sorted(shingles(text))
    if not found:
        return None
    from datasketch import MinHash  # numpy and scipy: loaded by the job that needs them

    minhash = MinHash(num_perm=SLOTS, seed=_SEED)
    for start in range(0, len(found), _BATCH):
        minhash.update_batch([s.encode() for s in found[start : start + _BATCH]])
    return [int(v) for v in minhash.hashvalues]


def similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity: the fraction of slots where two fingerprints agree."""
    return round(sum(x == y for x, y in zip(a, b, strict=True)) / SLOTS, 4)


def band_keys(signature: list[int]) -> list[int]:
    """One bucket per band: documents sharing a bucket in any band are candidates."""
    keys: list[int] = []
    for band in range(BANDS):
        rows = signature[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(
            b"".join(r.to_bytes(8, "big", signed=True) for r in rows), digest_size=8
        ).digest()
        keys.append(_signed(int.from_bytes(digest, "big")))
    return keys


def nearest(
    signature: list[int], candidates: list[tuple[object, list[int]]]
) -> list[tuple[object, float]]:
    """Candidates at least :data:`MIN_SIMILARITY` alike, most similar first, at most
    :data:`MAX_NEAR_DUPLICATES`."""
    scored = [(key, similarity(signature, other)) for key, other in candidates]
    kept = [(key, score) for key, score in scored if score >= MIN_SIMILARITY]
    kept.sort(key=lambda pair: -pair[1])
    return kept[:MAX_NEAR_DUPLICATES]
