"""Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, …) through aiobotocore,
named by their SHA-256: ``<prefix>/ab/cd/abcd…``.

The name is known only once the last byte has passed, and memory must stay bounded, so:

* a blob smaller than one part (8 MiB) is held, hashed, then sent once to its final key
  with its ``x-amz-checksum-sha256`` (the server refuses bytes that do not match it);
* a larger one is sent as a multipart upload to a temporary key, 8 MiB parts each with its
  own SHA-256 checksum, while being hashed; then it is copied server-side to its final key
  (UploadPartCopy, so any size) and the temporary object deleted. The copy names an
  object after its content without holding it whole, in memory or on a local disk.

Final writes carry ``If-None-Match: *``: of two concurrent puts of the same bytes one
creates the object, the other learns it exists (servers that ignore the condition just
write the same bytes twice). Leftovers of a crashed process stay under ``<prefix>/tmp/`` and
as incomplete multipart uploads: a bucket lifecycle rule should expire both after a day
(README "Documents: storage").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import IO, TYPE_CHECKING, cast

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from hub.content.domain.storage import S3Storage
from hub.content.repositories.blobs.base import BlobMissing, BlobTooLarge, StoredBlob
from hub.content.repositories.blobs.keys import check_range, checked_key, fan_out

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3.client import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

#: Bytes gathered before a part is sent (S3 wants at least 5 MiB for all parts but the last).
PART_BYTES = 8 * 1024 * 1024
#: Largest part of a server-side copy (S3's limit per UploadPartCopy).
COPY_PART_BYTES = 5 * 1024**3
#: Bytes per chunk handed to a reader.
READ_CHUNK_BYTES = 1024 * 1024

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
#: If-None-Match failed: the object exists.
_EXISTS = frozenset({"PreconditionFailed", "412"})
#: A concurrent conditional write to the same key was in flight (it may yet fail).
_CONFLICT = frozenset({"ConditionalRequestConflict", "409"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class S3BlobStore:
    """``HUB_STORAGE_URL=s3://bucket/prefix?…``. One client per store, opened on first use
    in the running event loop and closed by :meth:`close`."""

    def __init__(
        self,
        location: S3Storage,
        *,
        part_bytes: int = PART_BYTES,
        copy_part_bytes: int = COPY_PART_BYTES,
    ) -> None:
        self._location = location
        self._bucket = location.bucket
        self._prefix = f"{location.prefix}/" if location.prefix else ""
        self._part_bytes = part_bytes
        self._copy_part_bytes = copy_part_bytes
        self._client: S3Client | None = None
        self._exit = AsyncExitStack()
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:  # never the credentials
        return f"S3BlobStore(bucket={self._bucket!r}, prefix={self._prefix!r})"

    def key(self, sha256: str) -> str:
        """The object name of a blob."""
        return self._prefix + fan_out(checked_key(sha256))

    async def _s3(self) -> S3Client:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    self._client = await self._exit.enter_async_context(self._create_client())
        return self._client

    def _create_client(self) -> ClientCreatorContext[S3Client]:
        where = self._location
        config = AioConfig(
            s3={"addressing_style": where.addressing},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            # Checksums are sent where they matter (below) rather than botocore's default
            # CRC32 on every request, which several S3-compatible servers refuse.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return get_session().create_client(
            "s3",
            region_name=where.region or None,
            endpoint_url=where.endpoint,
            aws_access_key_id=where.access_key,
            aws_secret_access_key=where.secret_key,
            config=config,
        )

    # ------------------------------------------------------------------ writing

    async def put(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        s3 = await self._s3()
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        temporary: _TemporaryUpload | None = None
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise BlobTooLarge(f"more than {max_bytes} bytes")
                buffer += chunk
                if len(buffer) >= self._part_bytes:
                    if temporary is None:
                        temporary = await _TemporaryUpload.start(s3, self._bucket, self._prefix)
                    # The buffer itself is the part (no copy), let go before the next one
                    # fills: memory stays near one part.
                    await asyncio.to_thread(digest.update, buffer)
                    await temporary.send(buffer)
                    buffer = bytearray()
            await asyncio.to_thread(digest.update, buffer)
            sha256 = digest.hexdigest()
            if temporary is None:
                created = await self._put_small(s3, sha256, buffer, digest.digest())
            else:
                if buffer:
                    await temporary.send(buffer)
                buffer = bytearray()
                await temporary.finish(digest.digest())
                created = await self._copy_to_final(s3, temporary.key, sha256, size)
            return StoredBlob(sha256=sha256, size=size, created=created)
        finally:
            if temporary is not None:
                # Shielded: a cancelled upload still removes what it left in the bucket.
                await asyncio.shield(temporary.discard())

    async def _exists(self, s3: S3Client, key: str) -> bool:
        try:
            await s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        return True

    async def _put_small(self, s3: S3Client, sha256: str, body: bytearray, digest: bytes) -> bool:
        key = self.key(sha256)
        if await self._exists(s3, key):
            return False
        try:
            with _body(body) as stream:
                await s3.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=stream,
                    ChecksumSHA256=_b64(digest),
                    IfNoneMatch="*",
                )
        except ClientError as exc:
            if await self._lost_race(s3, key, exc):
                return False
            raise
        return True

    async def _lost_race(self, s3: S3Client, key: str, error: ClientError) -> bool:
        """Whether a conditional write failed because the same bytes are now there (a
        concurrent put of them won); a conflict counts only once its winner has finished."""
        if _code(error) in _EXISTS:
            return True
        return _code(error) in _CONFLICT and await self._exists(s3, key)

    async def _copy_to_final(self, s3: S3Client, source: str, sha256: str, size: int) -> bool:
        key = self.key(sha256)
        if await self._exists(s3, key):
            return False
        upload = await s3.create_multipart_upload(Bucket=self._bucket, Key=key)
        upload_id = upload["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            for number, offset in enumerate(range(0, size, self._copy_part_bytes), start=1):
                last = min(offset + self._copy_part_bytes, size) - 1
                copied = await s3.upload_part_copy(
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self._bucket, "Key": source},
                    CopySourceRange=f"bytes={offset}-{last}",
                )
                parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
            await s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException as exc:
            await asyncio.shield(_abort(s3, self._bucket, key, upload_id))
            if isinstance(exc, ClientError) and await self._lost_race(s3, key, exc):
                return False
            raise
        return True

    # ------------------------------------------------------------------ reading

    async def read(
        self, sha256: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        check_range(start, end)
        key = self.key(sha256)
        s3 = await self._s3()
        if end is not None and end == start:
            if not await self._exists(s3, key):
                raise BlobMissing(sha256)
            return
        try:
            if start or end is not None:
                span = f"bytes={start}-{'' if end is None else end - 1}"
                response = await s3.get_object(Bucket=self._bucket, Key=key, Range=span)
            else:
                response = await s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobMissing(sha256) from None
            if _code(exc) == "InvalidRange":  # starts at or past the end (or blob empty)
                if not await self._exists(s3, key):
                    raise BlobMissing(sha256) from None
                return
            raise
        body = response["Body"]
        try:
            async for data in body.iter_chunks(READ_CHUNK_BYTES):
                yield data
        finally:
            body.close()

    async def size(self, sha256: str) -> int | None:
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self._bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return head["ContentLength"]

    async def delete(self, sha256: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self._bucket, Key=self.key(sha256))

    async def close(self) -> None:
        self._client = None
        await self._exit.aclose()


async def _abort(s3: S3Client, bucket: str, key: str, upload_id: str) -> None:
    # Already gone, or the server unreachable: a lifecycle rule sweeps what is left.
    with contextlib.suppress(ClientError):
        await s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


class _TemporaryUpload:
    """A multipart upload to ``<prefix>/tmp/<random>``: parts checksummed one by one, and
    the whole checked against the server's composite checksum when it completes."""

    def __init__(self, s3: S3Client, bucket: str, key: str, upload_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.key = key
        self._upload_id = upload_id
        self._parts: list[CompletedPartTypeDef] = []
        self._part_digests: list[bytes] = []
        self._completed = False

    @classmethod
    async def start(cls, s3: S3Client, bucket: str, prefix: str) -> _TemporaryUpload:
        key = f"{prefix}tmp/{uuid.uuid4().hex}"
        upload = await s3.create_multipart_upload(
            Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256"
        )
        return cls(s3, bucket, key, upload["UploadId"])

    async def send(self, part: bytearray) -> None:
        number = len(self._parts) + 1
        digest = await asyncio.to_thread(_sha256, part)
        with _body(part) as stream:
            sent = await self._s3.upload_part(
                Bucket=self._bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=stream,
                ChecksumSHA256=_b64(digest),
            )
        self._parts.append(
            {"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": _b64(digest)}
        )
        self._part_digests.append(digest)

    async def finish(self, whole: bytes) -> None:
        """Complete the upload; ``whole``: the SHA-256 of all its bytes."""
        done = await self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        self._completed = True
        # S3 reports a multipart object's checksum as the SHA-256 of the parts' digests
        # ("<base64>-<count>"); a server that reports the whole object's is believed too.
        composite = hashlib.sha256(b"".join(self._part_digests)).digest()
        reported = done.get("ChecksumSHA256")
        if reported and reported.split("-", 1)[0] not in (_b64(composite), _b64(whole)):
            raise OSError(f"the S3 server stored other bytes than were sent to {self.key}")

    async def discard(self) -> None:
        if self._completed:
            await self._s3.delete_object(Bucket=self._bucket, Key=self.key)
        else:
            await _abort(self._s3, self._bucket, self.key, self._upload_id)


def _sha256(data: bytearray) -> bytes:
    return hashlib.sha256(data).digest()


@contextlib.contextmanager
def _body(data: bytearray) -> Iterator[IO[bytes]]:
    """``data`` as a request body, released on the way out: botocore's request objects may
    sit in reference cycles until the garbage collector runs, and a view they hold would
    keep the whole part alive that long."""
    body = _Body(data)
    try:
        yield cast("IO[bytes]", body)  # a binary file, as botocore takes it
    finally:
        body.close()


class _Body(io.RawIOBase):
    """A request body read straight out of a part's buffer.

    Handed bytes, aiohttp joins them with the headers and its transport copies what the
    socket has not taken yet: three copies of an 8 MiB part at once. As a file it is
    read, hashed for the signature and sent 64 KiB at a time from the one buffer.
    """

    def __init__(self, data: bytearray) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._position = 0

    def __len__(self) -> int:
        return len(self._view)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target: WriteableBuffer) -> int:
        out = memoryview(target).cast("B")
        count = min(len(out), len(self._view) - self._position)
        out[:count] = self._view[self._position : self._position + count]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._view.release()
        super().close()
