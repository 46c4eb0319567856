"""A real webhook receiver for the tests (an HTTP server on a loopback port, in a thread),
and helpers to create endpoints and move the webhook services' clock."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar import Litestar
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from hub.kernel.clock import MovableClock
from hub.worker import InProcessWorker
from tests.integration.communication.support import Client, use_clock
from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person

WEBHOOKS = f"{API}/webhooks"
_CLOCKED = ("webhooks", "webhook_dispatch", "webhook_sender", "webhook_release")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)

    def verifies(self, secret: str) -> bool:
        """What a consumer does: the standardwebhooks library checks the signature(s)
        and the timestamp against its own clock."""
        try:
            Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    """Answers each request with the next planned ``(status, headers)`` (200 when the plan
    is used up) and keeps what it received."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    plan: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    always: int | None = None
    #: Seconds to wait before answering (a slow receiver).
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            if self.plan:
                return self.plan.pop(0)
            return (self.always or 200), {}

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.json()["type"] == event_type]


def certificates(tmp: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A test CA and a certificate it signs for ``name``: (the receiver's server context,
    a client context trusting only that CA)."""
    now = datetime.now(UTC)

    def build(subject: str, issuer: x509.Name | None, key: Any, signer: Any, ca: bool) -> Any:
        subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject_name)
            .issuer_name(issuer or subject_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("Hub test CA", None, ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(name, ca_cert.subject, key, ca_key, ca=False)
    (tmp / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "leaf.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "leaf.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
    client = ssl.create_default_context(cafile=str(tmp / "ca.pem"))
    return server, client


def receiving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            status, headers = receiver.answer()
            if receiver.delay:
                time.sleep(receiver.delay)
            reply = b'{"ok": true}' if status < 300 else b"receiver says no " * 400
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def webhook_clock(
    clock: MovableClock, *, app: Litestar, worker: InProcessWorker, also: Any = ()
) -> None:
    """Communication's services (webhooks included) of the app, the worker and ``also``
    kernels on one clock the test moves."""
    use_clock(clock, app=app, worker=worker, also=also)
    for kernel in [app.state["kernel"], worker.background.worker_kernel(), *also]:
        for name in _CLOCKED:
            kernel.services[name].clock = clock


async def create_webhook(
    client: Client, who: Person, org: str, url: str, event_types: list[str], **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        WEBHOOKS,
        json={"organisationId": org, "url": url, "eventTypes": event_types, **fields},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def webhook_deliveries(
    client: Client, who: Person, webhook_id: str, **params: Any
) -> list[dict[str, Any]]:
    r = await client.get(
        f"{WEBHOOKS}/{webhook_id}/deliveries", params={"limit": 100, **params}, headers=who.auth
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def ping(client: Client, who: Person, webhook_id: str) -> dict[str, Any]:
    r = await client.post(f"{WEBHOOKS}/{webhook_id}/test", headers=who.auth)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body
