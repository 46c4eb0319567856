"""A 200 MB upload streams through a real API process: its memory grows by less than 50 MB.

The hub runs as production starts it (``uvicorn --factory hub.app:create_app``, its own
process, the filesystem blob store under a temporary data directory). The file is made
while it is sent, so the test process never holds it either. psutil samples the server's
RSS in a thread while the upload runs; the growth is measured from the RSS after a small
warm-up upload (code paths imported, connection pools open), so what is counted is what the
big file costs. Memory is not timing: the bound holds on a slow machine as on a fast one
(``bench/upload_memory.py`` prints the same figures outside the test run).
"""

from __future__ import annotations

import asyncio
import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.identity.support import API, bearer, mail_key, signed_in
from tests.support import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
SIZE = 200 * MIB
BOUND = 50 * MIB
SECRET = "memory-test-" + "k" * 40
BOUNDARY = "----hubmemorytest0c5b"


def _form(org: str, size: int, seed: bytes) -> tuple[int, Iterator[bytes]]:
    """Content-Length and chunks of an upload form whose file is generated as it is sent."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="organisationId"\r\n\r\n'
        f"{org}\r\n--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    block = os.urandom(MIB)

    def chunks() -> Iterator[bytes]:
        yield head
        first = b"%PDF-1.7\n" + seed + b"\n"
        yield first
        left = size - len(first)
        while left > 0:
            piece = block[: min(len(block), left)]
            yield piece
            left -= len(piece)
        yield tail

    return len(head) + size + len(tail), chunks()


def _upload(port: int, token: str, org: str, size: int) -> tuple[int, bytes]:
    length, body = _form(org, size, os.urandom(16).hex().encode())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            f"{API}/documents",
            body=body,
            headers={
                **bearer(token),
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
            },
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class PeakRss:
    """The highest RSS the process reaches while the ``with`` block runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self.samples = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.rss())
            self.samples += 1
            self._done.wait(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


async def test_a_200_mb_upload_grows_the_api_process_by_less_than_50_mb(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="production",
        HUB_LOG_LEVEL="WARNING",
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_SECRET_KEY=SECRET,
        HUB_SMTP_URL="smtps://mail.memory-test.invalid",
        HUB_ALLOWED_HOSTS="127.0.0.1",
        HUB_DATA_DIR=str(tmp_path / "data"),
        HUB_MAX_UPLOAD_BYTES=str(256 * MIB),
        HUB_CONTENT_QUOTA_BYTES="0",
        # Other tests of the session share this Redis: limits nobody can reach here.
        HUB_RATE_LIMIT_AUTH="1000000/60",
        HUB_RATE_LIMIT_UPLOADS="1000000/60",
        HUB_RATE_LIMIT_WRITES="1000000/60",
    )
    mail_key(SECRET)
    proc = subprocess.Popen(
        [
            *(str(BIN / "uvicorn"), "--factory", "hub.app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60  # a failure bound for a loaded machine
            while True:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the hub did not start"
                await asyncio.sleep(0.2)
            tokens = await signed_in(client, database_url, "memory@example.com")
            token = tokens["accessToken"]
            r = await client.post(f"{API}/orgs", json={"name": "Memory"}, headers=bearer(token))
            assert r.status_code == 201, r.text
            org = r.json()["id"]

        # Warm-up: the upload path's code, pools and buffers, so they are in the baseline.
        status, body = await asyncio.to_thread(_upload, port, token, org, 256 * 1024)
        assert status == 201, body
        sampler = PeakRss(proc.pid)
        baseline = sampler.rss()
        with sampler:
            status, body = await asyncio.to_thread(_upload, port, token, org, SIZE)
        assert status == 201, body[:500]
        assert b'"size":%d' % SIZE in body
        growth = sampler.peak - baseline
        assert sampler.samples > 10  # it was watched while it ran, not only after
        assert growth < BOUND, f"RSS grew by {growth / MIB:.1f} MiB (baseline {baseline / MIB:.1f})"
        # The file is on disk in the store, not in the process: one blob of 200 MiB.
        stored = [p for p in (tmp_path / "data" / "blobs").glob("??/??/*") if p.is_file()]
        assert sorted(p.stat().st_size for p in stored) == [256 * 1024, SIZE]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
