"""No live link at rest: identity's mails carry sign-up and reset tokens, and whoever reads
the database (a replica, a backup), Redis (queues, dead letters) or the logs must not find
them there. The tokens are taken from the mail as delivered, then searched for in the raw
bytes of every row of identity's schema and every Redis value."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
import redis as redis_sync
from aiosmtpd.controller import Controller
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from hub.app import context_modules
from hub.kernel.background import Background
from hub.kernel.deadletter import list_dead, retry_dead
from hub.kernel.mail import Mailbox
from hub.kernel.relay import Relay
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.identity.support import API, fetch, register
from tests.support import free_port

ADDRESS = "rest@example.com"


async def database_at_rest(database_url: str) -> bytes:
    """Every row of every table of identity's schema (outbox, inbox, tokens…), as text."""
    tables = await fetch(
        database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'identity'"
    )
    assert {"outbox", "inbox"} <= {t["tablename"] for t in tables}
    dump: list[str] = []
    for table in tables:
        name = table["tablename"]
        query = f'SELECT t::text AS row FROM identity."{name}" t'  # noqa: S608 - from pg_tables
        rows = await fetch(database_url, query)
        dump.extend(f"{name}: {r['row']}" for r in rows)
    return "\n".join(dump).encode()


def redis_at_rest(redis_url: str) -> bytes:
    """Every key and value of the test's Redis database, read by type (never DUMP, whose
    serialisation may compress a value so that a search would miss it)."""
    client = redis_sync.Redis.from_url(redis_url)
    dump: list[bytes] = []
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            values: list[bytes] = []
            if kind == b"string":
                values = [client.get(key) or b""]
            elif kind == b"list":
                values = list(client.lrange(key, 0, -1))
            elif kind == b"hash":
                for field, value in client.hgetall(key).items():
                    values += [field, value]
            elif kind == b"set":
                values = list(client.smembers(key))
            elif kind == b"zset":
                values = list(client.zrange(key, 0, -1))
            elif kind == b"stream":
                for entry_id, fields in client.xrange(key):
                    values.append(entry_id)
                    for field, value in fields.items():
                        values += [field, value]
            else:
                raise AssertionError(f"no reader for Redis type {kind!r} of {key!r}")
            dump.append(key + b"\n" + b"\n".join(values))
    finally:
        client.close()
    return b"\n".join(dump)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_tokens_of_mailed_links_are_nowhere_at_rest_dev_mailbox(
    client: AsyncTestClient[Litestar],
    events: InProcessWorker,
    mailbox: Mailbox,
    settings: Settings,
    database_url: str,
) -> None:
    assert (await register(client, ADDRESS)).status_code == 202
    r = await client.post(f"{API}/auth/password/forgot", json={"email": ADDRESS})
    assert r.status_code == 202
    await events.drain()

    # Still delivered: the dev mailbox (development only) holds the links in clear.
    mails = mailbox.list(to=ADDRESS)
    assert [m.subject for m in mails] == [
        "Confirm your e-mail address for Hub",
        "Reset your Hub password",
    ]
    tokens = [token_of(m.links()[0]) for m in mails]
    assert tokens[0].startswith("hub_et_")

    database = await database_at_rest(database_url)
    assert database.count(b"kernel.job_requested") == 2  # the two mail requests are kept
    assert settings.redis_url is not None
    stored = database + redis_at_rest(settings.redis_url)
    for token in tokens:
        assert token.encode() not in stored


class _Server:
    """aiosmtpd handler that refuses every recipient while ``refusing`` (550), else keeps
    what it receives with its envelope."""

    def __init__(self) -> None:
        self.refusing = True
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refusing:
            return "550 5.1.1 not today"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Server, int]]:
    handler = _Server()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_tokens_are_sealed_in_the_outbox_the_queue_dead_letters_and_logs(
    client: AsyncTestClient[Litestar],
    kernel: Kernel,
    settings: Settings,
    database_url: str,
    smtp_server: tuple[_Server, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, port = smtp_server
    assert settings.redis_url is not None
    caplog.set_level(logging.DEBUG)  # dramatiq logs each message it receives at DEBUG
    with capture_logs() as structured:
        assert (await register(client, ADDRESS)).status_code == 202
        await client.post(f"{API}/auth/password/forgot", json={"email": ADDRESS})
        outbox = await database_at_rest(database_url)

        # Relayed but not consumed: the requests wait in the broker's mail queue.
        background = Background(settings, schemas=["identity"])
        try:
            assert await Relay(kernel.db, background, ["identity"], listen=False).drain() >= 2
        finally:
            background.close()
        queued = redis_at_rest(settings.redis_url)
        assert queued.count(b"kernel.send_mail") >= 2

        # The server refuses: both mails are dead-lettered, then retried once it accepts.
        configured = msgspec.structs.replace(
            fast_job_settings(settings),
            smtp_url=f"smtp://127.0.0.1:{port}?starttls=0",
            mail_from="Hub <hub@hub.example>",
        )
        worker = InProcessWorker(configured, context_modules(), threads=2, scheduler=False)
        worker.start()
        try:
            await worker.drain()
            broker = worker.background.broker
            dead = list_dead(broker.client, broker.namespace)
            assert [(d.actor, d.attempts) for d in dead] == [("kernel.send_mail", 1)] * 2
            dead_letters = redis_at_rest(settings.redis_url)
            server.refusing = False
            assert len(retry_dead(broker)) == 2
            await worker.drain()
        finally:
            await asyncio.to_thread(worker.stop)
        after = await database_at_rest(database_url) + redis_at_rest(settings.redis_url)

    # Delivered, to the envelope recipient the message names.
    assert sorted(str(m["Subject"]) for m in server.messages) == [
        "Confirm your e-mail address for Hub",
        "Reset your Hub password",
    ]
    assert server.envelopes == [[ADDRESS], [ADDRESS]]
    tokens = []
    for message in server.messages:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        (link,) = [w for w in body.get_content().split() if w.startswith("http")]
        tokens.append(token_of(link))

    # Ours and our libraries' log lines (not the test SMTP server's own, "mail.log").
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    logs = "\n".join(lines).encode() + repr(structured).encode()
    assert b"kernel.send_mail" in logs  # dramatiq did log the messages it handled
    for token in tokens:
        for where, stored in (
            ("outbox", outbox),
            ("queue", queued),
            ("dead letters", dead_letters),
            ("after delivery", after),
            ("logs", logs),
        ):
            assert token.encode() not in stored, where
    # The whole message is sealed, not just the links: no subject, no text.
    assert b"Confirm your e-mail" not in dead_letters
    assert b"Reset your Hub password" not in outbox
