"""An IMAP session with a mail account, on the standard library's ``imaplib`` (run in a
worker thread: it blocks), connected to an address the hub checked.

The account's host is resolved by the caller and every address checked against the
operator's policy (``hub.kernel.egress``: no loopback, private or metadata address unless
``HUB_CONTENT_MAIL_ALLOWED_NETWORKS`` allows it). The session then connects to that very
address — ``imaplib`` would resolve the name again, and a second answer could point
elsewhere (DNS rebinding) — while TLS still verifies the certificate against the name.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

#: Seconds to connect, and for each command.
TIMEOUT = 10.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_LISTED = re.compile(rb'\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$')


class MailError(Exception):
    """The server refused or could not be reached; the text holds no secret."""


class _Pinned(imaplib.IMAP4):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        self._address = address
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self._address, self.port), timeout)


class _PinnedSSL(imaplib.IMAP4_SSL):
    def __init__(
        self, address: str, host: str, port: int, timeout: float, context: ssl.SSLContext
    ) -> None:
        self._address = address
        super().__init__(host, port, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), timeout)
        wrapped: socket.socket = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        return wrapped


def quoted(text: str) -> str:
    """An IMAP quoted string (folder names are checked to hold no quote or backslash)."""
    return '"' + text + '"'


class Session:
    """What mail consumption asks of a server, one method per command."""

    def __init__(self, client: imaplib.IMAP4) -> None:
        self.client = client

    def _ok(self, typ: str, data: Any, what: str) -> Any:
        if typ != "OK":
            said = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            raise MailError(f"{what}: {said or typ}")
        return data

    def folders(self) -> list[str]:
        data = self._ok(*self.client.list(), "LIST")
        names = []
        for line in data:
            found = _LISTED.match(line) if isinstance(line, bytes) else None
            if found and b"\\Noselect" not in found["flags"]:
                names.append(found["name"].strip(b'"').decode("utf-8", "replace"))
        return names

    def select(self, folder: str) -> int:
        """Open ``folder``; its UIDVALIDITY (UIDs name the same mails while it holds)."""
        self._ok(*self.client.select(quoted(folder)), f"SELECT {folder}")
        _, data = self.client.response("UIDVALIDITY")
        if data and data[0] is not None:
            return int(data[0])
        status = self._ok(*self.client.status(quoted(folder), "(UIDVALIDITY)"), "STATUS")
        found = _UIDVALIDITY.search(status[0] or b"")
        if found is None:
            raise MailError("the server gave no UIDVALIDITY")
        return int(found[1])

    def search(self, since: datetime | None) -> list[int]:
        criteria = ["SINCE", since.strftime("%d-%b-%Y")] if since is not None else ["ALL"]
        data = self._ok(*self.client.uid("SEARCH", *criteria), "SEARCH")
        return [int(uid) for uid in (data[0] or b"").split()]

    def size(self, uid: int) -> int:
        """The mail's size in bytes as the server counts it (``RFC822.SIZE``), read
        before the mail itself so a huge one is never loaded."""
        data = self._ok(*self.client.uid("FETCH", str(uid), "(RFC822.SIZE)"), "FETCH")
        for item in data:
            found = _SIZE.search(item if isinstance(item, bytes) else b"")
            if found is not None:
                return int(found[1])
        raise MailError(f"the server did not give the size of mail {uid}")

    def fetch(self, uid: int) -> bytes:
        """The whole mail, without marking it read (``BODY.PEEK``)."""
        data = self._ok(*self.client.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH")
        # One UID asked, so the one literal answered is its body (servers put the UID
        # item before or after it).
        for item in data:
            if isinstance(item, tuple):
                return bytes(item[1])
        raise MailError(f"the server did not return mail {uid}")

    def flag(self, uid: int, flag: str) -> None:
        self._ok(*self.client.uid("STORE", str(uid), "+FLAGS", f"({flag})"), "STORE")

    def move(self, uid: int, folder: str) -> None:
        if "MOVE" in self.client.capabilities:
            self._ok(*self.client.uid("MOVE", str(uid), quoted(folder)), "MOVE")
            return
        self._ok(*self.client.uid("COPY", str(uid), quoted(folder)), "COPY")
        self.delete(uid)

    def delete(self, uid: int) -> None:
        self.flag(uid, "\\Deleted")
        if "UIDPLUS" in self.client.capabilities:
            self._ok(*self.client.uid("EXPUNGE", str(uid)), "EXPUNGE")
        else:
            self._ok(*self.client.expunge(), "EXPUNGE")


@contextmanager
def session(
    address: str,
    host: str,
    port: int,
    security: str,
    username: str,
    password: str,
    *,
    tls: ssl.SSLContext | None = None,
    timeout: float = TIMEOUT,
) -> Iterator[Session]:
    """A logged-in session (``MailError`` when the server cannot be reached or refuses);
    logged out at the end."""
    context = tls or ssl.create_default_context()
    try:
        if security == "ssl":
            client: imaplib.IMAP4 = _PinnedSSL(address, host, port, timeout, context)
        else:
            client = _Pinned(address, host, port, timeout)
            if security == "starttls":
                client.starttls(context)
        client.login(username, password)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from None
    try:
        yield Session(client)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from None
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            client.logout()
