"""Transactional mail: queued in a unit of work, sent by a job through SMTP or the dev mailbox."""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import itertools
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.cli import main as hub_cli
from hub.kernel.deadletter import list_dead
from hub.kernel.mail import Mailbox, MailMessage, MailTemplates, queue_mail
from hub.kernel.outbox import outbox_of
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel import eventkit
from tests.support import free_port


class Inbox:
    """aiosmtpd handler: keeps what it receives, refuses recipients @refused.example."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        #: Every MAIL FROM and AUTH seen, with whether the session was under TLS by then.
        self.mail_from: list[tuple[str, bool]] = []
        self.logins: list[tuple[str, str, bool]] = []

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append(
            (auth_data.login.decode(), auth_data.password.decode(), session.ssl is not None)
        )
        return AuthResult(success=True)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.mail_from.append((address, session.ssl is not None))
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class Greylister(Inbox):
    """Answers ``450`` at RCPT to the first ``refusals`` attempts (greylisting, RFC 5321
    4xx: try again later), then accepts; records when each attempt came."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.attempts: list[float] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.attempts.append(time.monotonic())
        if len(self.attempts) <= self.refusals:
            return "450 4.2.0 Greylisted, please try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


@contextmanager
def greylisting(refusals: int) -> Iterator[tuple[Greylister, int]]:
    handler = Greylister(refusals)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def plain_smtp() -> Iterator[tuple[Inbox, int]]:
    """A server that offers no STARTTLS but takes AUTH in clear (as a stripped one would)."""
    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=handler.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that signs itself: its PEM is also the CA to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub test smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def starttls_smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """A server that offers STARTTLS and refuses AUTH and MAIL before it (aiosmtpd's
    require_starttls); yields the handler, the port and the certificate to trust."""
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=handler.authenticate,
    )
    controller.start()
    try:
        yield handler, port, cert
    finally:
        controller.stop()


async def _send_through(settings: Settings, smtp_url: str, kernel: Kernel) -> list[Any]:
    """Queue one mail, let a worker with ``smtp_url`` try it; the dead letters after."""
    configured = msgspec.structs.replace(fast_job_settings(settings), smtp_url=smtp_url)
    w = InProcessWorker(configured, [eventkit.module("identity")], threads=1, scheduler=False)
    w.start()
    try:
        await _queue(kernel, _message())
        await w.drain(within=20)
        broker = w.background.broker
        return list_dead(broker.client, broker.namespace)
    finally:
        await asyncio.to_thread(w.stop)


def _message(to: str = "ada@example.com") -> MailMessage:
    return MailMessage(
        to=[to],
        subject="Confirm your address",
        text="Hello Ada,\nconfirm: https://hub.example/verify?token=abc123\n",
        html="<p>Hello <b>Ada</b></p>",
        tags=["verify-email"],
        headers={"X-Campaign": "onboarding"},
    )


async def _queue(kernel: Kernel, message: MailMessage, *, commit: bool = True) -> str:
    async with kernel.db.unit_of_work(outbox_of("identity")) as uow:
        mail_id = queue_mail(uow, message, settings=kernel.settings)
        if commit:
            await uow.commit()
    return str(mail_id)


@pytest.fixture
async def smtp_worker(
    settings: Settings, clean_state: None, smtp: tuple[Inbox, int]
) -> AsyncIterator[tuple[InProcessWorker, Inbox]]:
    handler, port = smtp
    configured = msgspec.structs.replace(
        fast_job_settings(settings),
        smtp_url=f"smtp://127.0.0.1:{port}?starttls=0",
        mail_from="Hub <hub@hub.example>",
    )
    w = InProcessWorker(
        configured, [eventkit.module("identity")], threads=2, scheduler=False
    ).start()
    try:
        yield w, handler
    finally:
        await asyncio.to_thread(w.stop)


async def test_smtp_server_receives_the_rendered_message(
    smtp_worker: tuple[InProcessWorker, Inbox], kernel: Kernel
) -> None:
    worker, inbox = smtp_worker
    mail_id = await _queue(kernel, _message())
    await _queue(kernel, _message("rolled@example.com"), commit=False)
    await worker.drain()
    assert len(inbox.messages) == 1
    got = inbox.messages[0]
    assert inbox.envelopes[0] == ("hub@hub.example", ["ada@example.com"])
    assert got["Subject"] == "Confirm your address"
    assert got["To"] == "ada@example.com"
    assert got["From"] == "Hub <hub@hub.example>"
    assert got["Message-ID"] == f"<{mail_id}@127.0.0.1>"
    assert got["X-Campaign"] == "onboarding"
    text_part = got.get_body(preferencelist=("plain",))
    html_part = got.get_body(preferencelist=("html",))
    assert text_part is not None
    assert "token=abc123" in text_part.get_content()
    assert html_part is not None
    assert "<b>Ada</b>" in html_part.get_content()


async def test_redelivered_mail_job_sends_once(
    smtp_worker: tuple[InProcessWorker, Inbox], kernel: Kernel, settings: Settings
) -> None:
    worker, inbox = smtp_worker
    await _queue(kernel, _message())
    await worker.drain()
    # The relay hands the same request over twice more (crash before marking it sent).
    await eventkit.fetch(settings, "UPDATE identity.outbox SET published_at = NULL")
    await worker.drain()
    await eventkit.fetch(settings, "UPDATE identity.outbox SET published_at = NULL")
    await worker.drain()
    assert len(inbox.messages) == 1


async def test_permanent_smtp_refusal_is_dead_lettered_without_retries(
    smtp_worker: tuple[InProcessWorker, Inbox], kernel: Kernel
) -> None:
    worker, inbox = smtp_worker
    await _queue(kernel, _message("nobody@refused.example"))
    await worker.drain()
    assert inbox.messages == []
    broker = worker.background.broker
    dead = list_dead(broker.client, broker.namespace)
    assert [(d.queue, d.actor, d.attempts) for d in dead] == [("mail", "kernel.send_mail", 1)]
    # a PermanentMailError: the address is wrong, so no other provider is tried either
    assert "RecipientsRefusedError" in dead[0].error


async def test_a_greylisted_mail_is_retried_after_the_longest_backoff_and_delivered(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    """450 at RCPT is "not now" (RFC 5321), not "never": the mail goes out once the
    greylisting server lets it through, each retry after HUB_JOB_MAX_BACKOFF_MS."""
    with greylisting(refusals=2) as (server, port):
        dead = await _send_through(settings, f"smtp://127.0.0.1:{port}?starttls=0", kernel)
    assert dead == []
    assert len(server.messages) == 1
    assert [to for _, to in server.envelopes] == [["ada@example.com"]]
    assert len(server.attempts) == 3
    pause_s = fast_job_settings(settings).job_max_backoff_ms / 1000
    gaps = [later - earlier for earlier, later in itertools.pairwise(server.attempts)]
    assert all(gap >= pause_s for gap in gaps), (gaps, pause_s)


async def test_a_mail_greylisted_for_longer_than_the_retries_is_dead_lettered(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    with greylisting(refusals=100) as (server, port):
        dead = await _send_through(settings, f"smtp://127.0.0.1:{port}?starttls=0", kernel)
    assert server.messages == []
    assert len(server.attempts) == 3  # the first run + HUB_JOB_MAX_RETRIES=2
    assert [(d.queue, d.actor, d.attempts) for d in dead] == [("mail", "kernel.send_mail", 3)]
    assert "TemporaryMailError" in dead[0].error
    assert "450" in dead[0].error


async def test_unreachable_smtp_server_is_retried_then_dead_lettered(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    configured = msgspec.structs.replace(
        fast_job_settings(settings), smtp_url=f"smtp://127.0.0.1:{free_port()}?timeout=2"
    )
    w = InProcessWorker(configured, [eventkit.module("identity")], threads=1, scheduler=False)
    w.start()
    try:
        await _queue(kernel, _message())
        await w.drain(within=20)
        broker = w.background.broker
        dead = list_dead(broker.client, broker.namespace)
    finally:
        await asyncio.to_thread(w.stop)
    assert len(dead) == 1
    assert dead[0].attempts == 3  # the first run + HUB_JOB_MAX_RETRIES=2 in fast_job_settings
    assert "Connect" in dead[0].error or "connect" in dead[0].error


async def test_a_server_without_starttls_gets_no_credentials_and_no_mail(
    settings: Settings, clean_state: None, kernel: Kernel, plain_smtp: tuple[Inbox, int]
) -> None:
    """The default smtp:// requires STARTTLS: a server (or an attacker stripping it from
    the EHLO answer) that does not offer it is refused before AUTH and MAIL."""
    inbox, port = plain_smtp
    dead = await _send_through(settings, f"smtp://hub:s3cret@127.0.0.1:{port}", kernel)
    assert inbox.logins == []
    assert inbox.mail_from == []
    assert inbox.messages == []
    assert [(d.actor, d.attempts) for d in dead] == [("kernel.send_mail", 3)]  # retried
    assert "SmtpTlsUnavailable" in dead[0].error
    assert "did not offer STARTTLS" in dead[0].error


async def test_plain_smtp_only_when_the_url_says_starttls_0(
    settings: Settings, clean_state: None, kernel: Kernel, plain_smtp: tuple[Inbox, int]
) -> None:
    # The same server, explicitly allowed: this is what the default refuses to do.
    inbox, port = plain_smtp
    dead = await _send_through(settings, f"smtp://hub:s3cret@127.0.0.1:{port}?starttls=0", kernel)
    assert dead == []
    assert inbox.logins == [("hub", "s3cret", False)]
    assert len(inbox.messages) == 1


async def test_starttls_is_used_when_offered_and_the_certificate_checked(
    settings: Settings,
    clean_state: None,
    kernel: Kernel,
    starttls_smtp: tuple[Inbox, int, Path],
) -> None:
    inbox, port, cert = starttls_smtp
    dead = await _send_through(
        settings, f"smtp://hub:s3cret@127.0.0.1:{port}?cafile={cert}", kernel
    )
    assert dead == []
    assert inbox.logins == [("hub", "s3cret", True)]
    assert inbox.mail_from == [("no-reply@localhost", True)]
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == "Confirm your address"


async def test_an_untrusted_starttls_certificate_is_refused(
    settings: Settings,
    clean_state: None,
    kernel: Kernel,
    starttls_smtp: tuple[Inbox, int, Path],
) -> None:
    # Without ?cafile= the self-signed certificate is checked against the system CAs.
    inbox, port, _ = starttls_smtp
    dead = await _send_through(settings, f"smtp://hub:s3cret@127.0.0.1:{port}", kernel)
    assert inbox.logins == []
    assert inbox.messages == []
    assert [(d.actor, d.attempts) for d in dead] == [("kernel.send_mail", 3)]
    assert "CERTIFICATE_VERIFY_FAILED" in dead[0].error


async def test_dev_mailbox_and_hub_mail_commands(
    events: InProcessWorker, mailbox: Mailbox, kernel: Kernel, settings: Settings
) -> None:
    mail_id = await _queue(kernel, _message())
    await _queue(kernel, _message("never@example.com"), commit=False)
    await events.drain()
    stored = mailbox.list()
    assert [m.to for m in stored] == [["ada@example.com"]]
    mail = stored[0]
    assert mail.id == mail_id
    assert mail.subject == "Confirm your address"
    assert mail.links() == ["https://hub.example/verify?token=abc123"]
    assert mailbox.list(to="ADA@example.com") == stored
    raw = mailbox.raw(mail_id)
    assert raw is not None
    assert b"Subject: Confirm your address" in raw

    env = {"HUB_DATA_DIR": str(settings.data_dir), "HUB_ENV": "test"}
    runner = CliRunner()
    listed = runner.invoke(hub_cli, ["mail", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert mail_id in listed.output
    assert "Confirm your address" in listed.output
    # each mail with its links, as the README promises
    lines = listed.stdout.splitlines()
    assert lines[0].split()[0] == mail_id
    assert lines[1:] == ["    https://hub.example/verify?token=abc123"]
    nobody = runner.invoke(hub_cli, ["mail", "list", "--to", "bob@example.com"], env=env)
    assert nobody.exit_code == 0, nobody.output
    assert nobody.stdout == ""  # nothing to parse for a script waiting for bob's mail
    assert nobody.stderr.startswith("no mail to bob@example.com (1 other message(s) in ")
    shown = runner.invoke(hub_cli, ["mail", "show", mail_id[:8]], env=env)
    assert shown.exit_code == 0, shown.output
    assert "https://hub.example/verify?token=abc123" in shown.output
    assert "To:      ada@example.com" in shown.output
    assert "--- html ---" not in shown.output
    html = runner.invoke(hub_cli, ["mail", "show", mail_id, "--html"], env=env)
    assert html.exit_code == 0, html.output
    assert "\n--- html ---\n" in html.output
    assert "<p>Hello <b>Ada</b></p>" in html.output
    eml = runner.invoke(hub_cli, ["mail", "show", mail_id, "--raw"], env=env)
    assert eml.exit_code == 0, eml.output
    assert eml.output.startswith(raw.decode().splitlines()[0])
    assert "Subject: Confirm your address" in eml.output
    missing = runner.invoke(hub_cli, ["mail", "show", "ffffffff"], env=env)
    assert missing.exit_code != 0
    assert "no single mail" in missing.output


def test_templates_escape_html_but_not_text(tmp_path: Path) -> None:
    (tmp_path / "welcome.subject.txt").write_text("Welcome, {{ name }}!\n")
    (tmp_path / "welcome.txt").write_text("Hi {{ name }}, go to {{ link }}\n")
    (tmp_path / "welcome.html").write_text('<p>Hi {{ name }}</p><a href="{{ link }}">go</a>\n')
    (tmp_path / "plain.subject.txt").write_text("Plain")
    (tmp_path / "plain.txt").write_text("{{ missing }}")
    templates = MailTemplates(tmp_path)
    msg = templates.render(
        "welcome",
        to="ada@example.com",
        context={"name": "<Ada & co>", "link": "https://hub.example/x?a=1&b=2"},
    )
    assert msg.to == ["ada@example.com"]
    assert msg.subject == "Welcome, <Ada & co>!"
    assert msg.text == "Hi <Ada & co>, go to https://hub.example/x?a=1&b=2\n"
    assert msg.html is not None
    assert "&lt;Ada &amp; co&gt;" in msg.html
    assert 'href="https://hub.example/x?a=1&amp;b=2"' in msg.html
    assert msg.tags == ["welcome"]
    with pytest.raises(Exception, match="missing"):
        templates.render("plain", to="ada@example.com")


def test_a_mail_needs_a_recipient_and_a_one_line_subject() -> None:
    with pytest.raises(ValueError, match="recipient"):
        MailMessage(to=[], subject="x", text="y")
    with pytest.raises(ValueError, match="one line"):
        MailMessage(to=["a@example.com"], subject="x\nBcc: evil@example.com", text="y")
