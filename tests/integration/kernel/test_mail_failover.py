"""Mail through several SMTP providers (HUB_SMTP_URLS): real aiosmtpd servers, the breaker
state in the real Redis, its clock moved by the test (no sleeping through the reset)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller

from hub.kernel.cache import create_redis
from hub.kernel.clock import MovableClock
from hub.kernel.deadletter import list_dead
from hub.kernel.mail import MailAttempt, MailMessage, RecipientsRefusedError, build_email
from hub.kernel.mail_failover import MailProvidersUnavailable, SmtpFailover, mail_transport
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel import eventkit
from tests.integration.kernel.test_mail import Inbox, _message, _queue
from tests.support import free_port


class Refusing(Inbox):
    """A provider that refuses to relay (``554 5.7.1`` at RCPT: the provider's policy, not
    the recipient's address), counting every transaction it was offered."""

    def __init__(self, answer: str = "554 5.7.1 Relay access denied") -> None:
        super().__init__()
        self.answer = answer
        self.offered = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.offered += 1
        return self.answer


class Server:
    """An aiosmtpd server on a fixed port that the test can stop and start again."""

    def __init__(self, handler: Inbox) -> None:
        self.handler = handler
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> Server:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def url(self, name: str) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=0&name={name}"


@contextmanager
def servers(*handlers: Inbox) -> Iterator[list[Server]]:
    running = [Server(h).start() for h in handlers]
    try:
        yield running
    finally:
        for server in running:
            server.stop()


def _providers(settings: Settings, *urls: str, failures: int = 5) -> Settings:
    return msgspec.structs.replace(
        settings, smtp_urls=urls, smtp_breaker_failures=failures, smtp_breaker_reset_s=60
    )


async def test_a_queued_mail_fails_over_from_a_refusing_primary_to_the_second(
    settings: Settings, kernel: Kernel
) -> None:
    """The kernel's own job (identity's mails take this path) fails over too."""
    with servers(Refusing(), Inbox()) as (primary, backup):
        configured = _providers(
            fast_job_settings(settings), primary.url("primary"), backup.url("backup")
        )
        worker = InProcessWorker(
            configured, [eventkit.module("identity")], threads=1, scheduler=False
        ).start()
        try:
            await _queue(kernel, _message())
            await worker.drain(within=20)
            broker = worker.background.broker
            assert list_dead(broker.client, broker.namespace) == []
        finally:
            await asyncio.to_thread(worker.stop)
    refusing = primary.handler
    assert isinstance(refusing, Refusing)
    assert refusing.offered == 1
    assert refusing.messages == []
    (delivered,) = backup.handler.messages
    assert delivered["Subject"] == "Confirm your address"


@pytest.fixture
async def clocked(settings: Settings, clean_state: None) -> AsyncIterator[Any]:
    """A kernel whose clock the test moves, and a factory of its transport."""
    clock = MovableClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    made: list[Kernel] = []

    def make(configured: Settings) -> tuple[Kernel, SmtpFailover]:
        assert configured.database_url is not None
        assert configured.redis_url is not None
        k = Kernel(configured, configured.database_url, configured.redis_url, clock=clock)
        made.append(k)
        assert isinstance(k.mail_transport, SmtpFailover)
        return k, k.mail_transport

    try:
        yield clock, make
    finally:
        for k in made:
            await k.close()


async def _send(transport: SmtpFailover, to: str = "ada@example.com") -> list[MailAttempt]:
    email, stored = build_email(
        MailMessage(to=[to], subject="Hello", text="Hi\n"),
        mail_id=str(uuid.uuid4()),
        sender="Hub <hub@hub.example>",
    )
    attempts: list[MailAttempt] = []
    provider = await transport.send(email, stored, attempts)
    assert attempts[-1].provider == provider
    return attempts


def _seen(attempts: list[MailAttempt]) -> list[tuple[str, str]]:
    return [(a.provider, a.outcome) for a in attempts]


async def test_the_breaker_opens_skips_the_primary_and_recovers_after_the_reset_period(
    settings: Settings, clocked: Any
) -> None:
    clock, make = clocked
    primary, backup = Server(Inbox()), Server(Inbox()).start()
    try:
        _, transport = make(
            _providers(settings, primary.url("primary"), backup.url("backup"), failures=3)
        )
        # the primary is down (nothing listens on its port): each mail goes through the
        # backup, and the primary's breaker counts the failures
        for _ in range(3):
            attempts = await _send(transport)
            assert _seen(attempts) == [("primary", "down"), ("backup", "sent")]
            assert "127.0.0.1" in (attempts[0].error or "")
        assert await transport.breakers.state("primary") == "opened"
        assert await transport.breakers.state("backup") == "closed"

        # open: the primary is not even tried, although it is back up now
        primary.start()
        clock.advance(seconds=59)
        assert _seen(await _send(transport)) == [("primary", "skipped"), ("backup", "sent")]
        assert primary.handler.mail_from == []

        # another process (a second kernel, its own client) sees the same open breaker
        _, elsewhere = make(
            _providers(settings, primary.url("primary"), backup.url("backup"), failures=3)
        )
        assert _seen(await _send(elsewhere)) == [("primary", "skipped"), ("backup", "sent")]

        # past the reset period: one trial (half-open), which succeeds and closes it
        clock.advance(seconds=2)
        attempts = await _send(transport)
        assert _seen(attempts) == [("primary", "sent")]
        assert attempts[0].at == clock()
        assert await transport.breakers.state("primary") == "closed"
        assert len(primary.handler.messages) == 1
        assert _seen(await _send(elsewhere)) == [("primary", "sent")]
        assert len(backup.handler.messages) == 5
    finally:
        primary.stop()
        backup.stop()


async def test_a_failed_trial_opens_the_breaker_again_for_a_full_period(
    settings: Settings, clocked: Any
) -> None:
    clock, make = clocked
    primary, backup = Server(Refusing("451 4.3.0 Try again later")), Server(Inbox()).start()
    primary.start()
    try:
        _, transport = make(
            _providers(settings, primary.url("primary"), backup.url("backup"), failures=2)
        )
        for _ in range(2):
            assert _seen(await _send(transport)) == [("primary", "refused"), ("backup", "sent")]
        assert await transport.breakers.state("primary") == "opened"
        clock.advance(seconds=61)
        # the trial: still refusing, so open again at once (not after another 2 failures)
        assert _seen(await _send(transport)) == [("primary", "refused"), ("backup", "sent")]
        assert await transport.breakers.state("primary") == "opened"
        clock.advance(seconds=30)
        assert _seen(await _send(transport)) == [("primary", "skipped"), ("backup", "sent")]
        refusing = primary.handler
        assert isinstance(refusing, Refusing)
        assert refusing.offered == 3
    finally:
        primary.stop()
        backup.stop()


async def test_a_refused_recipient_fails_without_failover_and_charges_no_breaker(
    settings: Settings, clocked: Any
) -> None:
    _, make = clocked
    with servers(Inbox(), Inbox()) as (primary, backup):
        _, transport = make(
            _providers(settings, primary.url("primary"), backup.url("backup"), failures=1)
        )
        email, stored = build_email(
            MailMessage(to=["gone@refused.example"], subject="Hello", text="Hi\n"),
            mail_id=str(uuid.uuid4()),
            sender="Hub <hub@hub.example>",
        )
        attempts: list[MailAttempt] = []
        with pytest.raises(RecipientsRefusedError, match=r"550 5\.1\.1"):
            await transport.send(email, stored, attempts)
        assert _seen(attempts) == [("primary", "rejected")]  # the backup was not asked
        assert backup.handler.mail_from == []
        assert await transport.breakers.state("primary") == "closed"
        assert _seen(await _send(transport)) == [("primary", "sent")]


async def test_every_provider_down_is_retried_later(settings: Settings, clocked: Any) -> None:
    _, make = clocked
    _, transport = make(
        _providers(settings, f"smtp://127.0.0.1:{free_port()}?starttls=0", failures=1)
    )
    email, stored = build_email(
        MailMessage(to=["ada@example.com"], subject="Hello", text="Hi\n"),
        mail_id=str(uuid.uuid4()),
        sender="Hub <hub@hub.example>",
    )
    attempts: list[MailAttempt] = []
    with pytest.raises(MailProvidersUnavailable, match="every SMTP provider failed"):
        await transport.send(email, stored, attempts)
    assert [a.outcome for a in attempts] == ["down"]
    attempts.clear()
    with pytest.raises(MailProvidersUnavailable, match="skipped"):
        await transport.send(email, stored, attempts)
    assert [a.outcome for a in attempts] == ["skipped"]


async def test_an_unreachable_breaker_store_does_not_stop_mail(settings: Settings) -> None:
    """Breaker state unreadable: the provider is tried as if closed; unwritable: logged."""
    dead_redis = create_redis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)
    clock = MovableClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    try:
        with servers(Inbox()) as (primary,):
            transport = mail_transport(
                _providers(settings, primary.url("primary"), failures=1), dead_redis, clock
            )
            assert isinstance(transport, SmtpFailover)
            assert _seen(await _send(transport)) == [("primary", "sent")]
            primary.stop()
            with pytest.raises(MailProvidersUnavailable):
                await _send(transport)
    finally:
        await dead_redis.aclose()
