"""Blobs as files under one directory, named by their SHA-256: ``<root>/ab/cd/abcd…``.

A blob is written to ``<root>/tmp`` first (same file system, so the final step is atomic),
hashed as it is written, fsynced, then linked under its name and the directory fsynced: a
reader opens either nothing or the complete file, and after a crash a blob is either whole
or absent. Every disk call runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from hub.content.repositories.blobs.base import BlobMissing, BlobTooLarge, StoredBlob
from hub.content.repositories.blobs.keys import check_range, checked_key, fan_out

#: Bytes per disk write (incoming chunks are gathered up to this) and per read chunk.
CHUNK_BYTES = 1024 * 1024
#: Temporary files older than this are a crashed process's leftovers (no upload takes a
#: day); the first put of each process removes them.
STALE_TEMPORARY_SECONDS = 24 * 3600


class _LockedFile:
    """A file whose every call holds one lock, so closing it (on cancellation) waits for a
    read or write still running in a worker thread instead of racing it."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._lock = threading.Lock()
        self._closed = False

    def write_all(self, chunks: list[bytes], hash_update: Callable[[bytes], None]) -> None:
        with self._lock:
            for chunk in chunks:
                hash_update(chunk)
                self._file.write(chunk)

    def read(self, size: int) -> bytes:
        with self._lock:
            return self._file.read(size)

    def seek(self, offset: int) -> None:
        with self._lock:
            self._file.seek(offset)

    def sync_and_close(self) -> None:
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._closed = True

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._file.close()
                self._closed = True


def _fsync_directory(path: Path) -> None:
    """Make a directory's new entries durable (a rename or link is only once its directory
    is synced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemBlobStore:
    """The default backend (``HUB_STORAGE_URL`` unset: ``HUB_DATA_DIR/blobs``)."""

    def __init__(self, root: Path, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.root = root
        self._temporary = root / "tmp"
        self._chunk_bytes = chunk_bytes
        self._prepared = False

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    def _path(self, sha256: str) -> Path:
        return self.root / fan_out(checked_key(sha256))

    # ------------------------------------------------------------------ writing

    def _prepare(self) -> None:
        """Create the directories; once per process, sweep temporaries left by a crash."""
        self._temporary.mkdir(parents=True, exist_ok=True)
        if self._prepared:
            return
        cutoff = time.time() - STALE_TEMPORARY_SECONDS
        for leftover in self._temporary.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
        self._prepared = True

    def _open_temporary(self) -> tuple[_LockedFile, Path]:
        self._prepare()
        fd, name = tempfile.mkstemp(dir=self._temporary, prefix="put-")
        return _LockedFile(os.fdopen(fd, "wb")), Path(name)

    def _publish(self, temporary: Path, sha256: str, size: int) -> bool:
        """Give the complete, synced temporary file its name; False if a blob of these bytes
        was already there."""
        final = self._path(sha256)
        created_directories = [d for d in (final.parent.parent, final.parent) if not d.exists()]
        final.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                # link() never replaces: of two concurrent puts of the same bytes, one
                # creates the blob and the other learns it exists.
                os.link(temporary, final)
            except FileExistsError:
                try:
                    existing = final.stat().st_size
                except FileNotFoundError:
                    continue  # deleted in between: link again
                created = existing != size
                if created:
                    # Same name, other length: not these bytes (damaged by hand or disk).
                    os.replace(temporary, final)
                break
            except OSError as exc:  # a file system without hard links
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                created = not final.exists()
                if created:
                    os.replace(temporary, final)
                break
            else:
                created = True
                break
        if created:
            _fsync_directory(final.parent)
            for directory in created_directories:
                _fsync_directory(directory.parent)
        return created

    async def put(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        file, temporary = await asyncio.to_thread(self._open_temporary)
        try:
            digest = hashlib.sha256()
            size = 0
            pending: list[bytes] = []
            pending_bytes = 0
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise BlobTooLarge(f"more than {max_bytes} bytes")
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes >= self._chunk_bytes:
                    await asyncio.to_thread(file.write_all, pending, digest.update)
                    pending, pending_bytes = [], 0
            await asyncio.to_thread(file.write_all, pending, digest.update)
            await asyncio.to_thread(file.sync_and_close)
            sha256 = digest.hexdigest()
            created = await asyncio.to_thread(self._publish, temporary, sha256, size)
            return StoredBlob(sha256=sha256, size=size, created=created)
        finally:
            # Shielded: a cancelled upload still removes its temporary file.
            await asyncio.shield(asyncio.to_thread(self._discard, file, temporary))

    @staticmethod
    def _discard(file: _LockedFile, temporary: Path) -> None:
        file.close()
        temporary.unlink(missing_ok=True)

    # ------------------------------------------------------------------ reading

    async def read(
        self, sha256: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        check_range(start, end)
        path = self._path(sha256)
        try:
            raw = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise BlobMissing(sha256) from None
        # An open file stays readable even if the blob is deleted meanwhile.
        file = _LockedFile(raw)
        try:
            if start:
                await asyncio.to_thread(file.seek, start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                size = self._chunk_bytes if remaining is None else min(self._chunk_bytes, remaining)
                data = await asyncio.to_thread(file.read, size)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data
        finally:
            await asyncio.shield(asyncio.to_thread(file.close))

    async def size(self, sha256: str) -> int | None:
        path = self._path(sha256)
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            return None
        return stat.st_size

    async def delete(self, sha256: str) -> None:
        path = self._path(sha256)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def close(self) -> None:
        """Nothing held between calls."""
