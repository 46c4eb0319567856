"""Names in a bulk download's zip: each file's own, numbered from a name's second use on,
compared as the file systems people unzip on compare them (case-insensitively)."""

from __future__ import annotations

from hub.content.services.bulk_download import member_names


def test_a_name_met_again_is_numbered_before_its_extension() -> None:
    names = ["a.pdf", "a.pdf", "A.PDF", "a (2).pdf", "notes", "notes", ".env", ".env"]
    assert member_names(names) == [
        "a.pdf",
        "a (2).pdf",
        "A (3).PDF",
        "a (2) (2).pdf",
        "notes",
        "notes (2)",
        ".env",
        ".env (2)",
    ]


def test_distinct_names_are_kept_as_they_are() -> None:
    assert member_names(["b.txt", "c.txt"]) == ["b.txt", "c.txt"]
