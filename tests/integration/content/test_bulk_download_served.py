"""The bulk download through a real server: a zip of megabytes arrives in many chunks
(written while it is sent, never held whole) and opens with every file intact."""

from __future__ import annotations

import io
import os
import zipfile

import httpx

from tests.integration.content.support import DOCS, pdf, uploaded
from tests.integration.identity.support_orgs import create_org, person


async def test_a_zip_of_megabytes_streams_in_chunks_and_opens_intact(
    live_client: httpx.AsyncClient, database_url: str
) -> None:
    client = live_client
    owner = await person(client, database_url, "owner@example.com")
    org = (await create_org(client, owner))["id"]
    files = [pdf(os.urandom(1_500_000)) for _ in range(3)]
    docs = [
        await uploaded(client, owner, org, data, file_name=f"scan-{i}.pdf")
        for i, data in enumerate(files)
    ]
    chunks: list[bytes] = []
    async with client.stream(
        "POST",
        f"{DOCS}/download",
        json={"organisationId": org, "documentIds": [d["id"] for d in docs]},
        headers=owner.auth,
        timeout=60,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/zip"
        assert "content-length" not in r.headers  # sent as it is written
        async for chunk in r.aiter_raw():
            chunks.append(chunk)
    assert len(chunks) > 3
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert [archive.read(f"scan-{i}.pdf") for i in range(3)] == files
