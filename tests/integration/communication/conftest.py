"""Communication tests: cheap password hashing (they sign several people up), no rate
limits (they send and mark in bursts), and a real SMTP receiver (aiosmtpd) with an
in-process worker sending to it for the tests that read the mail the hub sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from aiosmtpd.controller import Controller

from hub.app import context_modules
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel.test_mail import Inbox
from tests.support import free_port


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.replace(
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit_enabled=False,
    )


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
async def smtp_worker(
    settings: Settings, clean_state: None, smtp: tuple[Inbox, int]
) -> AsyncIterator[tuple[InProcessWorker, Inbox]]:
    handler, port = smtp
    configured = msgspec.structs.replace(
        fast_job_settings(settings),
        smtp_url=f"smtp://127.0.0.1:{port}?starttls=0",
        mail_from="Hub <hub@hub.example>",
    )
    worker = InProcessWorker(configured, context_modules(), threads=2, scheduler=False).start()
    try:
        yield worker, handler
    finally:
        await asyncio.to_thread(worker.stop)
