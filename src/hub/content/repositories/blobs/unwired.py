"""Stand-in for the storage backends while they are built on their own branch: every
call answers 503 ``storage_unavailable``, so the hub starts and everything but file
transfer works. Replaced by the filesystem/S3 stores (``HUB_STORAGE_URL``) at merge."""

from __future__ import annotations

from collections.abc import AsyncIterator

from hub.content.repositories.blobs.base import StoredBlob
from hub.kernel.errors import AppError


class StorageUnavailable(AppError):
    status_code = 503
    code = "storage_unavailable"


def _unavailable() -> StorageUnavailable:
    return StorageUnavailable("No file storage is configured on this server.")


class UnwiredBlobStore:
    async def put(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        raise _unavailable()

    def read(self, sha256: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        raise _unavailable()

    async def size(self, sha256: str) -> int | None:
        raise _unavailable()

    async def delete(self, sha256: str) -> None:
        raise _unavailable()

    async def close(self) -> None:
        return None
