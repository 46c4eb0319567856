"""Helpers for content's black-box tests: the filesystem blob store observed, uploads,
downloads and people with roles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from hub.content.repositories.blobs import FilesystemBlobStore, StoredBlob
from hub.kernel.settings import Settings
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person, join

DOCS = f"{API}/documents"


class DirectoryBlobStore(FilesystemBlobStore):
    """The real filesystem blob store, observed: counts puts, lists what is stored and
    left over, and can hold each put once its bytes are written (before it links the
    blob into place) until N puts wait — to force the concurrent-upload race."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.root = root
        self.puts = 0
        #: Tests set it to hold each put, once its bytes are written, until N puts wait.
        self.barrier: asyncio.Barrier | None = None

    def path(self, sha256: str) -> Path:
        return self._path(sha256)

    def blobs(self) -> set[str]:
        return {p.name for p in self.root.glob("??/??/*") if p.is_file()}

    def leftovers(self) -> list[Path]:
        """Temporary files of unfinished puts (none once every put returned)."""
        tmp = self.root / "tmp"
        return list(tmp.iterdir()) if tmp.exists() else []

    async def put(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
    ) -> StoredBlob:
        self.puts += 1
        barrier = self.barrier

        async def written() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                yield chunk
            if barrier is not None:  # every byte handed over; the store links after this
                await barrier.wait()

        return await super().put(written(), max_bytes=max_bytes)


async def upload(
    client: Any,
    who: Person | dict[str, str],
    org: str | None,
    content: bytes,
    file_name: str = "report.pdf",
    *,
    title: str | None = None,
    tags: list[str] | None = None,
    custom_fields: str | None = None,
    document_type_id: str | None = None,
    archive_serial_number: str | None = None,
) -> Any:
    data: dict[str, Any] = {}
    if org is not None:
        data["organisationId"] = org
    if title is not None:
        data["title"] = title
    if tags is not None:
        data["tags"] = tags
    if custom_fields is not None:
        data["customFields"] = custom_fields
    if document_type_id is not None:
        data["documentTypeId"] = document_type_id
    if archive_serial_number is not None:
        data["archiveSerialNumber"] = archive_serial_number
    headers = who.auth if isinstance(who, Person) else who
    return await client.post(
        DOCS,
        data=data,
        files={"file": (file_name, content, "application/octet-stream")},
        headers=headers,
    )


async def raw_upload(client: Any, who: Person, org: str, file_name: bytes, content: bytes) -> Any:
    """A multipart body built by hand, as a browser sends it: the file name's bytes as
    they are (a browser escapes only ``"``, CR and LF)."""
    boundary = "----hubtestboundary7MA4YWxkTrZu0gW"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="organisationId"\r\n\r\n'
        f"{org}\r\n--{boundary}\r\n"
    ).encode()
    body += b'Content-Disposition: form-data; name="file"; filename="' + file_name + b'"\r\n'
    body += b"Content-Type: application/octet-stream\r\n\r\n" + content
    body += f"\r\n--{boundary}--\r\n".encode()
    return await client.post(
        DOCS,
        content=body,
        headers={**who.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


async def uploaded(client: Any, who: Person, org: str, content: bytes, **kw: Any) -> Any:
    r = await upload(client, who, org, content, **kw)
    assert r.status_code == 201, r.text
    return r.json()


async def add_version(
    client: Any, who: Person, document_id: str, content: bytes, file_name: str = "v.pdf", **kw: Any
) -> Any:
    return await client.post(
        f"{DOCS}/{document_id}/versions",
        data=kw,
        files={"file": (file_name, content, "application/octet-stream")},
        headers=who.auth,
    )


async def role(client: Any, owner: Person, org: str, name: str, permissions: list[str]) -> str:
    r = await client.post(
        f"{API}/orgs/{org}/roles",
        json={"name": name, "permissions": permissions},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def member_with(
    client: Any, database_url: str, org: str, owner: Person, email: str, roles: list[str]
) -> Person:
    return await join(client, database_url, org, owner, email, roles)


def pdf(body: bytes = b"") -> bytes:
    """Bytes that sniff as a PDF."""
    return b"%PDF-1.7\n" + body


async def document_type(client: Any, owner: Person, org: str, name: str = "Invoice") -> str:
    """A document type of the organisation (documents may only name their own org's)."""
    r = await client.post(
        f"{API}/orgs/{org}/document-types", json={"name": name}, headers=owner.auth
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def custom_fields(client: Any, owner: Person, org: str, **types: str) -> None:
    """Custom-field definitions by key (documents' values are checked against them)."""
    for key, kind in types.items():
        r = await client.post(
            f"{API}/orgs/{org}/custom-fields",
            json={"key": key, "name": key, "type": kind},
            headers=owner.auth,
        )
        assert r.status_code == 201, r.text


def cli_env(settings: Settings) -> dict[str, str]:
    """What a ``hub`` command run by ``CliRunner`` needs to reach the test's services."""
    return {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": settings.database_url or "",
        "HUB_REDIS_URL": settings.redis_url or "",
        "HUB_DATA_DIR": str(settings.data_dir),
    }
