"""A real IMAP server for the mail-rule tests: pymap's in-memory backend in a child
process on a loopback port, and a client (the standard library's ``imaplib``) that puts
mails in it and looks at what the hub left behind."""

from __future__ import annotations

import imaplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from tests.integration.identity.support import API
from tests.integration.identity.support_orgs import Person
from tests.support import free_port

USER, PASSWORD = "docs@clinic.example", "imap-s3cret-Pw"


@dataclass(frozen=True)
class ImapServer:
    port: int
    #: A client context trusting the server's test CA, when it offers STARTTLS (the
    #: test's own client connects to 127.0.0.1, so it does not check the name).
    tls: ssl.SSLContext | None = None
    #: The context the hub verifies with: the same CA, and the name checked.
    hub_tls: ssl.SSLContext | None = None

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        if self.tls is not None:
            client.starttls(self.tls)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, message: EmailMessage, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            typ, _ = client.append(folder, None, None, message.as_bytes())
            assert typ == "OK"
        finally:
            client.logout()

    def create(self, folder: str) -> None:
        client = self.client()
        try:
            assert client.create(folder)[0] == "OK"
        finally:
            client.logout()

    def subjects(self, folder: str = "INBOX", criteria: str = "ALL") -> list[str]:
        """The subjects of the folder's mails matching ``criteria`` (``UNSEEN``…)."""
        client = self.client()
        try:
            client.select(folder)
            _, data = client.uid("SEARCH", criteria)
            out = []
            for uid in (data[0] or b"").split():
                _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                raw = fetched[0][1] if isinstance(fetched[0], tuple) else b""
                out.append(raw.decode().split(":", 1)[1].strip())
            return sorted(out)
        finally:
            client.logout()


def running_imap(
    certificate: tuple[Path, Path, Path] | None = None,
) -> Iterator[ImapServer]:
    """The server, plain, or offering STARTTLS with ``certificate`` (its chain, its key
    and the CA that signed it)."""
    tls = hub_tls = None
    if certificate is not None:
        hub_tls = ssl.create_default_context(cafile=str(certificate[2]))
        tls = ssl.create_default_context(cafile=str(certificate[2]))
        tls.check_hostname = False
    port = free_port()
    security = (
        ["--cert", str(certificate[0]), "--key", str(certificate[1])]
        if certificate is not None
        else ["--no-tls"]
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pymap.main import main; sys.argv[0] = 'pymap'; sys.exit(main())",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *security,
            "dict",
            "--demo-user",
            USER,
            "--demo-password",
            PASSWORD,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("pymap did not start") from None
                time.sleep(0.1)
        yield ImapServer(port, tls, hub_tls)
    finally:
        process.terminate()
        process.wait(timeout=10)


def mail(
    subject: str,
    sender: str = "Billing <billing@supplier.example>",
    attachments: tuple[tuple[str, bytes], ...] = (),
    to: str = USER,
    body: str = "Please find attached.",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{abs(hash(subject))}@supplier.example>"
    message.set_content(body)
    for name, data in attachments:
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("image", "png")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def accounts_url(org: str) -> str:
    return f"{API}/orgs/{org}/mail-accounts"


def rules_url(org: str) -> str:
    return f"{API}/orgs/{org}/mail-rules"


async def add_account(client: Any, who: Person, org: str, imap: ImapServer, **kw: Any) -> Any:
    body = {
        "name": "Clinic inbox",
        "host": "127.0.0.1",
        "port": imap.port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        **kw,
    }
    return await client.post(accounts_url(org), json=body, headers=who.auth)
