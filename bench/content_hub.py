"""A real hub process set up for the content benchmarks: backends, an organisation, people.

Shared by ``bench.content`` (upload, download and list figures) and
``bench.upload_memory``. The hub runs as ``uvicorn --factory hub.app:create_app`` with
production settings (:func:`bench.servers.hub_environment`), its blobs in the filesystem
store under a temporary ``HUB_DATA_DIR`` on the machine's disk. Two people are made with
the operator's command (``hub users create``): an *owner*, who creates the organisation
over the API (built-in ``owner`` role: ``content.admin``, the unfiltered list path), and a
*member*, invited by the owner and accepting through the link of the queued invitation
mail (built-in ``member`` role: ``content.documents.read`` only, so every list goes
through the permission filter).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import msgspec

from bench.backends import Backends, local_or_embedded, migrate
from bench.servers import ROOT, Server, ServerSpec, hub_environment

API = "/api/v1"
JSON = {"Content-Type": "application/json"}
PASSWORD = "bench password 123"
OWNER_EMAIL = "content-owner@example.com"
MEMBER_EMAIL = "content-member@example.com"
#: A 1 MiB block of random bytes that uploads repeat (disk and hash see incompressible
#: data; a per-upload header makes each file's SHA-256 its own, so nothing is deduplicated).
BLOCK = os.urandom(1024 * 1024)
BOUNDARY = "----hubbenchboundary9f3Kq2"
MIB = 1024 * 1024

HUB = ServerSpec("hub", "hub.app:create_app", factory=True, hub=True)


@dataclass(frozen=True)
class Person:
    user_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class ContentHub:
    backends: Backends
    env: dict[str, str]
    data_dir: Path
    log_dir: Path
    organisation_id: str = ""
    owner: Person | None = None
    member: Person | None = None

    def server(self) -> Server:
        return Server(HUB, self.env, self.log_dir)

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "blobs"


def _json(status: int, body: bytes, what: str, expected: int = 200) -> dict[str, Any]:
    if status != expected:
        raise SystemExit(f"{what} answered {status}: {body[:400]!r}")
    data: dict[str, Any] = json.loads(body)
    return data


def _hub_cli() -> list[str]:
    exe = Path(sys.executable).with_name("hub")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hub.cli"]


def _create_account(env: dict[str, str], email: str) -> None:
    done = subprocess.run(
        [*_hub_cli(), "users", "create", email, "--name", "Bench", "--password", PASSWORD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"hub users create {email} failed:\n{done.stderr[-2000:]}")


def sign_in(hub: Server, email: str) -> Person:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    data = _json(*hub.request("POST", f"{API}/auth/login", body, JSON), "POST /auth/login")
    return Person(user_id=data["userId"], token=data["accessToken"])


async def _invitation_token(dsn: str, secret_key: str, email: str) -> str:
    """The token of the newest invitation mail to ``email`` in identity's outbox, opened
    with the hub's key (the bench runs no worker, so the mail is still queued)."""
    from hub.kernel.mail import open_mail
    from hub.kernel.settings import Settings

    keys = msgspec.structs.replace(Settings(), secret_key=secret_key)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT payload FROM identity.outbox WHERE event_type = 'kernel.job_requested' "
            "ORDER BY position DESC"
        )
    finally:
        await conn.close()
    for row in rows:
        payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        if payload.get("job") != "kernel.send_mail":
            continue
        mail = open_mail(payload["args"][0], keys)
        if email in mail.to and "invited you" in mail.subject:
            for word in mail.text.split():
                if word.startswith("http"):
                    return parse_qs(urlsplit(word).query)["token"][0]
    raise SystemExit(f"no invitation mail to {email} was queued")


def prepare(ctx: ContentHub, *, with_member: bool = True) -> None:
    """Accounts, the organisation and (optionally) the invited member."""
    import asyncio

    _create_account(ctx.env, OWNER_EMAIL)
    if with_member:
        _create_account(ctx.env, MEMBER_EMAIL)
    with ctx.server() as hub:
        owner = sign_in(hub, OWNER_EMAIL)
        body = json.dumps({"name": "Bench Org"}).encode()
        org = _json(
            *hub.request("POST", f"{API}/orgs", body, {**JSON, **owner.auth}),
            "POST /orgs",
            expected=201,
        )
        ctx.organisation_id = org["id"]
        ctx.owner = owner
        if not with_member:
            return
        invite = json.dumps({"email": MEMBER_EMAIL}).encode()
        path = f"{API}/orgs/{ctx.organisation_id}/invitations"
        _json(
            *hub.request("POST", path, invite, {**JSON, **owner.auth}),
            "POST invitation",
            expected=201,
        )
        token = asyncio.run(
            _invitation_token(ctx.backends.database_url, ctx.env["HUB_SECRET_KEY"], MEMBER_EMAIL)
        )
        member = sign_in(hub, MEMBER_EMAIL)
        _json(
            *hub.request("POST", f"{API}/invitations/{token}/accept", None, member.auth),
            "accept invitation",
        )
        ctx.member = member


def refresh_tokens(ctx: ContentHub, hub: Server) -> None:
    """Fresh access tokens (15 min TTL) for a new measurement."""
    ctx.owner = sign_in(hub, OWNER_EMAIL)
    if ctx.member is not None:
        ctx.member = sign_in(hub, MEMBER_EMAIL)


@contextmanager
def content_hub(
    *, prefer: str = "auto", redis_db: int = 6, max_upload_mb: int = 1024
) -> Iterator[ContentHub]:
    """Backends (a scratch database or embedded servers), migrations applied, a temporary
    data directory for the blobs; removed again at the end."""
    data_dir = Path(tempfile.mkdtemp(prefix="hub-content-bench-"))
    log_dir = data_dir / "logs"
    log_dir.mkdir()
    try:
        with local_or_embedded(prefer=prefer) as found:
            backends = found
            if found.redis_url.startswith("redis://127.0.0.1:6379/"):
                backends = Backends(
                    found.database_url,
                    f"redis://127.0.0.1:6379/{redis_db}",
                    found.description.replace("Redis db 13", f"Redis db {redis_db}"),
                )
            env = hub_environment(backends.database_url, backends.redis_url, os.environ)
            env.update(
                HUB_DATA_DIR=str(data_dir),
                HUB_MAX_UPLOAD_BYTES=str(max_upload_mb * MIB),
                HUB_CONTENT_QUOTA_BYTES="0",
                PYTHONPATH=os.pathsep.join(
                    p for p in (str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH")) if p
                ),
            )
            _flush(backends.redis_url)
            error = migrate(backends, env)
            if error is not None:
                raise SystemExit(f"hub db upgrade failed: {error}")
            yield ContentHub(backends, env, data_dir, log_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# ---------------------------------------------------------------------- uploads


def file_chunks(size: int, *, seed: str, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """``size`` bytes that sniff as a PDF, unique to ``seed``, made as they are sent."""
    head = f"%PDF-1.7\n% bench {seed}\n".encode()
    yield head[:size]
    sent = len(head)
    view = memoryview(BLOCK)
    while sent < size:
        offset = sent % len(BLOCK)
        n = min(chunk, size - sent, len(BLOCK) - offset)
        yield bytes(view[offset : offset + n])
        sent += n


def multipart(
    organisation_id: str, size: int, *, seed: str, fields: Iterable[tuple[str, str]] = ()
) -> tuple[int, Iterator[bytes], str]:
    """(Content-Length, body chunks, Content-Type) of an upload form whose file part is
    generated on the fly: the client never holds the file."""
    head = b""
    for name, value in [("organisationId", organisation_id), *fields]:
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from file_chunks(size, seed=seed)
        yield tail

    return (
        len(head) + size + len(tail),
        body(),
        f"multipart/form-data; boundary={BOUNDARY}",
    )


def stream_upload(
    hub: Server, who: Person, organisation_id: str, size: int, *, seed: str | None = None
) -> dict[str, Any]:
    """``POST /documents`` of a generated file of ``size`` bytes; the created document."""
    import http.client

    length, body, content_type = multipart(
        organisation_id, size, seed=seed or uuid.uuid4().hex, fields=[("title", "bench upload")]
    )
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=300)
    try:
        conn.request(
            "POST",
            f"{API}/documents",
            body=body,
            headers={
                **who.auth,
                "Content-Type": content_type,
                "Content-Length": str(length),
            },
        )
        response = conn.getresponse()
        return _json(response.status, response.read(), "POST /documents", expected=201)
    finally:
        conn.close()
