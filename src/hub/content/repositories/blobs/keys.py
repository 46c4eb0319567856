"""Rules every backend applies the same way: what a key looks like, where it lives, what a
range may be."""

from __future__ import annotations

import re

_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


def checked_key(sha256: str) -> str:
    """``sha256`` if it is a lower-case hex SHA-256, else ValueError: a key becomes a path
    or an object name, so ``../`` or a slash must never get that far."""
    if not _KEY_RE.match(sha256):
        raise ValueError(f"not a blob key (lower-case hex SHA-256): {sha256[:80]!r}")
    return sha256


def fan_out(sha256: str) -> str:
    """``ab/cd/abcd…``: two levels of 256 directories (or key prefixes) keep any one of
    them small, even with tens of millions of blobs."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def check_range(start: int, end: int | None) -> None:
    """``start`` from 0, ``end`` (exclusive) not before it. Past the blob's end is not an
    error: a read stops at the last byte, like a slice."""
    if start < 0:
        raise ValueError(f"range start must be >= 0, got {start}")
    if end is not None and end < start:
        raise ValueError(f"range end must be >= start, got {start}..{end}")
