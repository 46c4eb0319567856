"""Transactional mail: queued in a unit of work, sent by a job through SMTP or the dev mailbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

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
        mail_id = queue_mail(uow, message)
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
    assert "PermanentMailError" in dead[0].error


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
