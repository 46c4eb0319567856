"""One storage suite, run against every blob-store backend: the filesystem one, and the S3
one against a real S3-compatible server (moto's, started once for the session on a
loopback port, one fresh bucket per test).

Besides what each call returns, every test looks at what the backend holds afterwards
(files under the root, objects and unfinished multipart uploads in the bucket): a refused,
failed or cancelled put leaves nothing behind, and a blob is only ever visible whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiobotocore.session import get_session
from types_aiobotocore_s3.client import S3Client

from hub.content.domain.storage import S3Storage
from hub.content.repositories.blobs import blob_store
from hub.content.repositories.blobs.base import BlobMissing, BlobStore, BlobTooLarge
from hub.content.repositories.blobs.filesystem import FilesystemBlobStore
from hub.content.repositories.blobs.s3 import S3BlobStore
from tests.support import free_port

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass
class Backend:
    name: str
    store: BlobStore
    #: Everything the backend holds: files, objects, unfinished multipart uploads.
    holdings: Callable[[], Awaitable[list[str]]]
    #: Where a blob of that SHA-256 is held (as listed by ``holdings``).
    place: Callable[[str], str]


# --------------------------------------------------------------------------- S3 server


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's standalone S3 server in a child process (its memory is not ours, so the
    memory test measures the store alone)."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_location(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(
        bucket=bucket,
        prefix="hub/blobs",
        endpoint=endpoint,
        region="us-east-1",
        access_key="hub-test",
        secret_key="hub-test-secret",
        addressing="path",
    )


@contextlib.asynccontextmanager
async def s3_admin(endpoint: str) -> AsyncIterator[S3Client]:
    async with get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="hub-test",
        aws_secret_access_key="hub-test-secret",
    ) as client:
        yield client


@contextlib.asynccontextmanager
async def s3_backend(endpoint: str, **options: int) -> AsyncIterator[Backend]:
    bucket = f"hub-{uuid.uuid4().hex[:16]}"
    async with s3_admin(endpoint) as s3:
        await s3.create_bucket(Bucket=bucket)

        async def holdings() -> list[str]:
            listed = await s3.list_objects_v2(Bucket=bucket)
            uploads = await s3.list_multipart_uploads(Bucket=bucket)
            return sorted(
                [o["Key"] for o in listed.get("Contents", [])]
                + [f"upload:{u['Key']}" for u in uploads.get("Uploads", [])]
            )

        store = S3BlobStore(s3_location(endpoint, bucket), **options)
        try:
            yield Backend(
                "s3", store, holdings, lambda sha: f"hub/blobs/{sha[:2]}/{sha[2:4]}/{sha}"
            )
        finally:
            await store.close()
            for key in await holdings():  # free the server's memory
                if not key.startswith("upload:"):
                    await s3.delete_object(Bucket=bucket, Key=key)


def filesystem_backend(root: Path, **options: int) -> Backend:
    async def holdings() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    return Backend(
        "filesystem",
        FilesystemBlobStore(root, **options),
        holdings,
        lambda sha: f"{sha[:2]}/{sha[2:4]}/{sha}",
    )


@pytest.fixture(params=["filesystem", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "filesystem":
        fs = filesystem_backend(tmp_path / "blobs")
        yield fs
        await fs.store.close()
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    async with s3_backend(endpoint) as s3:
        yield s3


# --------------------------------------------------------------------------- helpers


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def read_all(store: BlobStore, sha256: str, **span: int | None) -> bytes:
    return b"".join([chunk async for chunk in store.read(sha256, **span)])  # type: ignore[arg-type]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the suite


@pytest.mark.parametrize("size", [0, 1, 5 * 1000 * 1000, 9 * MIB])
async def test_a_blob_is_stored_under_its_sha256_and_read_back_whole(
    backend: Backend, size: int
) -> None:
    data = os.urandom(size)
    stored = await backend.store.put(chunked(data))
    assert (stored.sha256, stored.size, stored.created) == (sha(data), size, True)
    assert await read_all(backend.store, stored.sha256) == data
    assert await backend.store.size(stored.sha256) == size
    # Held once, under its name, and nothing else (no temporary file or object).
    assert await backend.holdings() == [backend.place(stored.sha256)]


async def test_the_empty_blob(backend: Backend) -> None:
    stored = await backend.store.put(chunked(b""))
    assert stored.sha256 == EMPTY_SHA256
    assert await read_all(backend.store, EMPTY_SHA256) == b""
    assert await read_all(backend.store, EMPTY_SHA256, start=0, end=10) == b""
    assert await read_all(backend.store, EMPTY_SHA256, start=3) == b""
    assert await backend.store.size(EMPTY_SHA256) == 0


@pytest.mark.parametrize("size", [1000, 9 * MIB])
async def test_the_same_bytes_twice_are_one_blob(backend: Backend, size: int) -> None:
    data = os.urandom(size)
    first = await backend.store.put(chunked(data))
    # Other chunking, same bytes.
    second = await backend.store.put(chunked(data, 1000))
    assert first.created is True
    assert second.created is False
    assert (second.sha256, second.size) == (first.sha256, size)
    assert await backend.holdings() == [backend.place(first.sha256)]
    assert await read_all(backend.store, first.sha256) == data


@pytest.mark.parametrize("size", [1000, 9 * MIB])
async def test_concurrent_puts_of_the_same_bytes_both_succeed_with_one_blob(
    backend: Backend, size: int
) -> None:
    data = os.urandom(size)
    results = await asyncio.gather(*(backend.store.put(chunked(data)) for _ in range(3)))
    assert {(r.sha256, r.size) for r in results} == {(sha(data), size)}
    created = [r.created for r in results]
    assert created.count(True) >= 1
    if backend.name == "filesystem":
        # link() is atomic: exactly one put creates the blob. (On S3 it is the server's
        # If-None-Match that decides; moto's check is not atomic across its threads.)
        assert created.count(True) == 1
    assert await backend.holdings() == [backend.place(sha(data))]
    assert await read_all(backend.store, sha(data)) == data


@pytest.mark.parametrize(
    ("size", "limit"),
    [(100, 99), (9 * MIB, 9 * MIB - 1), (12 * MIB, 9 * MIB)],
    ids=["small", "at-the-end", "after-parts-were-sent"],
)
async def test_past_max_bytes_nothing_is_stored(backend: Backend, size: int, limit: int) -> None:
    data = os.urandom(size)
    with pytest.raises(BlobTooLarge):
        await backend.store.put(chunked(data), max_bytes=limit)
    assert await backend.holdings() == []
    assert await backend.store.size(sha(data)) is None


async def test_exactly_max_bytes_is_accepted(backend: Backend) -> None:
    stored = await backend.store.put(chunked(b"x" * 100), max_bytes=100)
    assert stored.size == 100
    empty = await backend.store.put(chunked(b""), max_bytes=0)
    assert empty.size == 0


async def test_a_failing_stream_stores_nothing(backend: Backend) -> None:
    async def broken() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield os.urandom(MIB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await backend.store.put(broken())
    assert await backend.holdings() == []


async def test_a_cancelled_put_stores_nothing(backend: Backend) -> None:
    halfway = asyncio.Event()
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        for _ in range(10):  # past one S3 part: a multipart upload is under way
            yield os.urandom(MIB)
        halfway.set()
        await never.wait()
        yield b"never sent"

    task = asyncio.create_task(backend.store.put(stalled()))
    await halfway.wait()  # the put waits for its next chunk, the first ones sent
    assert await backend.holdings() != []  # a temporary file, an unfinished upload
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await backend.holdings() == []


async def test_a_blob_is_invisible_until_complete(backend: Backend) -> None:
    data = os.urandom(10 * MIB)
    halfway = asyncio.Event()
    go_on = asyncio.Event()

    async def paused() -> AsyncIterator[bytes]:
        yield data[: 9 * MIB]
        halfway.set()
        await go_on.wait()
        yield data[9 * MIB :]

    task = asyncio.create_task(backend.store.put(paused()))
    await halfway.wait()  # 9 MiB written or sent (a whole S3 part), the put waits for more
    assert await backend.holdings() != []
    assert await backend.store.size(sha(data)) is None
    with pytest.raises(BlobMissing):
        await read_all(backend.store, sha(data))
    assert backend.place(sha(data)) not in await backend.holdings()
    go_on.set()
    stored = await task
    assert await backend.store.size(stored.sha256) == len(data)
    assert await read_all(backend.store, stored.sha256) == data


async def test_ranges(backend: Backend) -> None:
    data = os.urandom(3 * MIB + 17)
    key = (await backend.store.put(chunked(data))).sha256
    n = len(data)
    cases: list[tuple[int, int | None]] = [
        (0, None),
        (0, 10),
        (10, 20),
        (MIB - 1, 2 * MIB + 1),  # across read chunks
        (n - 1, None),  # the last byte
        (n - 1, n),
        (n - 5, n + 100),  # end past the end: cut there
        (n, None),  # start at the end: nothing
        (n + 100, None),  # start past the end: nothing
        (n + 100, n + 200),
        (7, 7),  # empty range
    ]
    for start, end in cases:
        got = await read_all(backend.store, key, start=start, end=end)
        assert got == data[start:end], (start, end)


async def test_bad_ranges_and_keys_are_refused(backend: Backend) -> None:
    key = (await backend.store.put(chunked(b"abc"))).sha256
    with pytest.raises(ValueError, match="start"):
        await read_all(backend.store, key, start=-1)
    with pytest.raises(ValueError, match="end"):
        await read_all(backend.store, key, start=2, end=1)
    for bad in ("../../etc/passwd", key.upper(), key[:-1], f"{key}/x", ""):
        with pytest.raises(ValueError, match="not a blob key"):
            await read_all(backend.store, bad)
        with pytest.raises(ValueError, match="not a blob key"):
            await backend.store.size(bad)
        with pytest.raises(ValueError, match="not a blob key"):
            await backend.store.delete(bad)


async def test_a_missing_blob(backend: Backend) -> None:
    missing = sha(b"never stored")
    assert await backend.store.size(missing) is None
    for span in ({}, {"start": 0, "end": 10}, {"start": 5}, {"start": 3, "end": 3}):
        with pytest.raises(BlobMissing):
            await read_all(backend.store, missing, **span)


async def test_delete_is_idempotent(backend: Backend) -> None:
    data = b"to be deleted"
    key = (await backend.store.put(chunked(data))).sha256
    await backend.store.delete(key)
    assert await backend.store.size(key) is None
    with pytest.raises(BlobMissing):
        await read_all(backend.store, key)
    await backend.store.delete(key)  # again: nothing to do
    await backend.store.delete(sha(b"never stored"))
    assert await backend.holdings() == []
    # Stored again after a delete: a new blob.
    assert (await backend.store.put(chunked(data))).created is True
    assert await read_all(backend.store, key) == data


async def test_a_reader_keeps_its_bytes_when_the_blob_is_deleted_meanwhile(
    backend: Backend,
) -> None:
    data = os.urandom(3 * MIB)
    key = (await backend.store.put(chunked(data))).sha256
    reader = backend.store.read(key)
    first = await anext(reader)
    await backend.store.delete(key)
    rest = b"".join([chunk async for chunk in reader])
    assert first + rest == data


@pytest.mark.slow
async def test_a_50_mb_blob_streams_through_bounded_memory(backend: Backend) -> None:
    total = 50 * 1000 * 1000
    chunk_size = 256 * 1024
    expected = hashlib.sha256()

    async def generated() -> AsyncIterator[bytes]:
        rng = random.Random(7)
        sent = 0
        while sent < total:
            chunk = rng.randbytes(min(chunk_size, total - sent))
            expected.update(chunk)
            sent += len(chunk)
            yield chunk

    await backend.store.size(EMPTY_SHA256)  # opens the S3 client (its models) beforehand
    tracemalloc.start()
    try:
        stored = await backend.store.put(generated())
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        read_back = hashlib.sha256()
        async for chunk in backend.store.read(stored.sha256):
            read_back.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (stored.sha256, stored.size) == (expected.hexdigest(), total)
    assert read_back.hexdigest() == stored.sha256
    assert put_peak < 20 * MIB, put_peak
    assert read_peak < 20 * MIB, read_peak
    assert await backend.holdings() == [backend.place(stored.sha256)]


# --------------------------------------------------------------------------- per backend


async def test_s3_copies_a_large_blob_to_its_name_in_several_parts(s3_endpoint: str) -> None:
    """UploadPartCopy in parts (5 GiB each in production, 5 MiB here), so no size limit."""
    async with s3_backend(s3_endpoint, part_bytes=5 * MIB, copy_part_bytes=5 * MIB) as s3:
        data = os.urandom(12 * MIB + 3)
        stored = await s3.store.put(chunked(data, MIB))
        assert stored.created is True
        assert await read_all(s3.store, stored.sha256) == data
        assert (
            await read_all(s3.store, stored.sha256, start=5 * MIB - 2, end=5 * MIB + 2)
            == (data[5 * MIB - 2 : 5 * MIB + 2])
        )
        assert await s3.holdings() == [s3.place(stored.sha256)]


async def test_the_factory_builds_the_s3_store_from_the_url(s3_endpoint: str) -> None:
    bucket = f"hub-{uuid.uuid4().hex[:16]}"
    async with s3_admin(s3_endpoint) as admin:
        await admin.create_bucket(Bucket=bucket)
        store = blob_store(
            f"s3://{bucket}/deep/prefix/?endpoint={s3_endpoint}&region=us-east-1"
            "&access_key=hub-test&secret_key=hub-test-secret",
            Path("/nonexistent"),
        )
        assert isinstance(store, S3BlobStore)
        assert "hub-test-secret" not in repr(store)
        try:
            stored = await store.put(chunked(b"via the factory"))
        finally:
            await store.close()
        listed = await admin.list_objects_v2(Bucket=bucket)
        key = stored.sha256
        assert [o["Key"] for o in listed["Contents"]] == [f"deep/prefix/{key[:2]}/{key[2:4]}/{key}"]


async def test_filesystem_blobs_are_files_named_by_hash_and_temporaries_are_swept(
    tmp_path: Path,
) -> None:
    root = tmp_path / "blobs"
    stale = root / "tmp" / "put-crashed"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by a crash")
    old = time.time() - 2 * 86400
    os.utime(stale, (old, old))
    recent = root / "tmp" / "put-in-flight"
    recent.write_bytes(b"another process, uploading now")
    store = blob_store(f"file://{root}", Path("/nonexistent"))
    assert isinstance(store, FilesystemBlobStore)
    stored = await store.put(chunked(b"hello"))
    path = root / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert path.read_bytes() == b"hello"
    assert not stale.exists()
    assert recent.exists()


async def test_filesystem_replaces_a_damaged_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    data = b"the real bytes"
    path = tmp_path / sha(data)[:2] / sha(data)[2:4] / sha(data)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"trunc")  # same name, other length
    stored = await store.put(chunked(data))
    assert stored.created is True
    assert path.read_bytes() == data


async def test_the_default_store_lives_under_the_data_dir(tmp_path: Path) -> None:
    store = blob_store(None, tmp_path)
    assert isinstance(store, FilesystemBlobStore)
    assert store.root == tmp_path / "blobs"
    stored = await store.put(chunked(b"x"))
    assert (tmp_path / "blobs" / stored.sha256[:2]).is_dir()
