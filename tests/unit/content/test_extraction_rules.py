"""Extraction and near-duplicate rules without a database: cleaning and capping text,
which extractor reads what, the MinHash fingerprint and its LSH bands, and the zip
container checks that refuse bombs before anything is unpacked."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from hub.content.domain.extraction import (
    BANDS,
    MAX_TEXT_CHARS,
    MIN_SIMILARITY,
    SLOTS,
    Bounds,
    band_keys,
    clean_extracted,
    extractor_for,
    fingerprint,
    nearest,
    similarity,
)
from hub.content.services.extraction.formats import Refused, member, open_zip
from tests.integration.content.support_extraction import words


def test_cleaning_keeps_text_postgres_can_store_and_collapses_blank_runs() -> None:
    text, cut = clean_extracted("a\x00b \ud800 c\r\n\r\n\r\n\r\nd  \u00a0 e\tf")
    assert (text, cut) == ("a b ? c\n\nd e\tf", False)


def test_text_past_the_bound_is_cut() -> None:
    text, cut = clean_extracted("x" * (MAX_TEXT_CHARS + 5))
    assert (len(text), cut) == (MAX_TEXT_CHARS, True)


@pytest.mark.parametrize(
    ("media_type", "kind"),
    [
        ("text/plain", "text"),
        ("text/markdown", "text"),
        ("text/csv", "csv"),
        ("text/html; charset=utf-8", "html"),
        ("application/pdf", "pdf"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        ("application/vnd.oasis.opendocument.text", "odf"),
        ("image/png", "image"),
        ("application/msword", None),
        ("application/octet-stream", None),
    ],
)
def test_extractor_by_media_type(media_type: str, kind: str | None) -> None:
    assert extractor_for(media_type) == kind


def test_fingerprints_estimate_the_similarity_of_word_trigrams() -> None:
    base = words(1, 400)
    edited = list(base)
    for i in (50, 150, 250, 350):
        edited[i] = "changed"
    a, b, c = (
        fingerprint(" ".join(base)),
        fingerprint(" ".join(edited)),
        fingerprint(" ".join(words(2, 400))),
    )
    assert a is not None
    assert b is not None
    assert c is not None
    assert len(a) == SLOTS
    assert similarity(a, a) == 1.0
    # 12 of ~398 trigrams differ: Jaccard ~0.94
    assert 0.85 <= similarity(a, b) < 1.0
    assert similarity(a, c) < 0.2
    # alike fingerprints share LSH buckets; unrelated ones (almost surely) none
    assert set(enumerate(band_keys(a))) & set(enumerate(band_keys(b)))
    assert not set(enumerate(band_keys(a))) & set(enumerate(band_keys(c)))
    assert len(band_keys(a)) == BANDS
    assert nearest(a, [("b", b), ("c", c)]) == [("b", similarity(a, b))]


def test_case_and_punctuation_do_not_make_texts_different() -> None:
    assert fingerprint("The Quick, brown fox!") == fingerprint("the quick brown FOX")
    assert fingerprint("  \n ") is None
    short = fingerprint("hello")
    assert short is not None
    assert similarity(short, short) == 1.0
    assert MIN_SIMILARITY > 0.5


def _zip(tmp_path: Path, entries: dict[str, bytes]) -> Path:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    path = tmp_path / "file"
    path.write_bytes(out.getvalue())
    return path


def test_zip_entries_compressed_too_well_are_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"word/document.xml": b"\0" * (5 * 1024 * 1024)})
    with pytest.raises(Refused) as refused:
        open_zip(path, Bounds())
    assert refused.value.code == "too_large"


def test_zip_total_and_entry_count_are_bounded(tmp_path: Path) -> None:
    path = _zip(tmp_path, {f"e{i}": b"x" * 100 for i in range(20)})
    with pytest.raises(Refused, match="unpacks to 2000 bytes"):
        open_zip(path, Bounds(max_unzipped_bytes=1999))
    with pytest.raises(Refused, match="20 zip entries"):
        open_zip(path, Bounds(max_zip_entries=19))
    with open_zip(path, Bounds()) as archive:
        assert member(archive, "e3") == b"x" * 100
        assert member(archive, "missing") is None


def test_a_file_that_is_not_a_zip_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(Refused) as refused:
        open_zip(path, Bounds())
    assert refused.value.code == "corrupt"
