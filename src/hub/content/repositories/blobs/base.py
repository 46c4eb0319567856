"""The blob-store interface every backend implements and the one storage test suite runs
against (``tests/integration/content/test_blob_stores.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


class BlobTooLarge(Exception):
    """The stream exceeded ``max_bytes``; nothing was stored."""


class BlobMissing(Exception):
    """No blob under that key."""


@dataclass(frozen=True)
class StoredBlob:
    #: Lower-case hex SHA-256 of the bytes: the blob's key.
    sha256: str
    size: int
    #: False when a blob with these bytes already existed (nothing new was written).
    created: bool


class BlobStore(Protocol):
    async def put(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        """Stream ``chunks`` into the store (never holding them whole in memory), hashing as
        they pass; the blob becomes visible under its SHA-256 only once complete and
        verified. Raises :class:`BlobTooLarge` past ``max_bytes`` (nothing stored)."""
        ...

    def read(self, sha256: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The blob's bytes from ``start`` to ``end`` (exclusive; None: to the end), in
        chunks. Raises :class:`BlobMissing`."""
        ...

    async def size(self, sha256: str) -> int | None:
        """The blob's size, or None when absent."""
        ...

    async def delete(self, sha256: str) -> None:
        """Remove the blob (absent: nothing to do)."""
        ...

    async def close(self) -> None: ...
