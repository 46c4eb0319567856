"""E-mail notifications through several SMTP providers (HUB_SMTP_URLS): two real aiosmtpd
servers; with the primary refusing, or stopped, the mail arrives through the second and the
delivery log shows both attempts; the primary's breaker opens, skips it, and recovers once
the worker's clock passed the reset period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
import redis

from hub.app import context_modules
from hub.kernel.clock import MovableClock
from hub.kernel.mail_breaker import KEY_PREFIX
from hub.kernel.mail_failover import SmtpFailover
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.communication.support import Client, deliveries, org_with, sent
from tests.integration.identity.support_orgs import Person
from tests.integration.kernel.test_mail import Inbox
from tests.integration.kernel.test_mail_failover import Refusing, Server


def _worker(settings: Settings, primary: Server, backup: Server, failures: int) -> InProcessWorker:
    configured = msgspec.structs.replace(
        fast_job_settings(settings),
        smtp_urls=(primary.url("primary"), backup.url("backup")),
        smtp_breaker_failures=failures,
        smtp_breaker_reset_s=300,
        mail_from="Hub <hub@hub.example>",
    )
    return InProcessWorker(configured, context_modules(), threads=2, scheduler=False).start()


@pytest.fixture
async def refusing_primary(
    settings: Settings, clean_state: None
) -> AsyncIterator[tuple[Server, Server, InProcessWorker]]:
    primary, backup = Server(Refusing()).start(), Server(Inbox()).start()
    worker = _worker(settings, primary, backup, failures=1000)
    try:
        yield primary, backup, worker
    finally:
        await asyncio.to_thread(worker.stop)
        primary.stop()
        backup.stop()


@pytest.fixture
async def two_servers(
    settings: Settings, clean_state: None
) -> AsyncIterator[tuple[Server, Server, InProcessWorker]]:
    primary, backup = Server(Inbox()).start(), Server(Inbox()).start()
    worker = _worker(settings, primary, backup, failures=2)
    try:
        yield primary, backup, worker
    finally:
        await asyncio.to_thread(worker.stop)
        primary.stop()
        backup.stop()


async def _notify(
    client: Client, owner: Person, org: str, to: Person, worker: InProcessWorker
) -> dict[str, Any]:
    """One e-mail notification to ``to``, sent; its delivery-log row."""
    note = await sent(
        client,
        owner,
        org,
        recipients={"userIds": [to.user_id]},
        template="security.alert",
        payload={"summary": "New sign-in", "detail": "Firefox"},
        channels=["email"],
    )
    await worker.drain(within=20)
    (row,) = await deliveries(client, owner, org, notificationId=note["id"], channel="email")
    return row


def _state(settings: Settings, provider: str) -> str:
    """The breaker's state as every worker process reads it (Redis)."""
    assert settings.redis_url is not None
    client = redis.Redis.from_url(settings.redis_url)
    try:
        state = client.hget(KEY_PREFIX + provider, "state")
    finally:
        client.close()
    assert isinstance(state, bytes)
    return state.decode()


def _tried(row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["provider"], a["outcome"]) for a in row["providerAttempts"]]


async def test_with_the_primary_refusing_the_mail_arrives_through_the_second(
    client: Client,
    database_url: str,
    refusing_primary: tuple[Server, Server, InProcessWorker],
) -> None:
    primary, backup, worker = refusing_primary
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    await worker.drain(within=20)  # sign-up and invitation mail: through the backup too
    backup.handler.messages.clear()

    row = await _notify(client, owner, org, ann, worker)

    (message,) = backup.handler.messages
    assert message["To"] == ann.email
    assert message["Subject"] == "Security alert: New sign-in"
    assert primary.handler.messages == []
    assert (row["status"], row["provider"], row["attempts"]) == ("sent", "backup", 1)
    assert _tried(row) == [("primary", "refused"), ("backup", "sent")]
    refused = row["providerAttempts"][0]
    assert "554 5.7.1 Relay access denied" in refused["error"]
    assert row["providerAttempts"][1]["error"] is None
    assert row["lastError"] is None


async def test_with_the_primary_stopped_the_breaker_opens_and_later_recovers(
    client: Client,
    database_url: str,
    settings: Settings,
    two_servers: tuple[Server, Server, InProcessWorker],
) -> None:
    primary, backup, worker = two_servers
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    await worker.drain(within=20)
    assert backup.handler.messages == []  # while the primary is up, it takes everything
    clock = MovableClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    transport = worker.background.worker_kernel().mail_transport
    assert isinstance(transport, SmtpFailover)
    transport.clock = clock

    primary.stop()
    for _ in range(2):  # HUB_SMTP_BREAKER_FAILURES=2
        row = await _notify(client, owner, org, ann, worker)
        assert (row["status"], row["provider"]) == ("sent", "backup")
        assert _tried(row) == [("primary", "down"), ("backup", "sent")]
        assert f"127.0.0.1 on port {primary.port}" in row["providerAttempts"][0]["error"]
    assert _state(settings, "primary") == "opened"

    primary.start()  # back, but its breaker is open: not even tried
    seen_by_primary = len(primary.handler.mail_from)
    clock.advance(seconds=299)
    row = await _notify(client, owner, org, ann, worker)
    assert _tried(row) == [("primary", "skipped"), ("backup", "sent")]
    assert row["providerAttempts"][0]["error"] == "circuit breaker open"
    assert len(primary.handler.mail_from) == seen_by_primary
    assert len(backup.handler.messages) == 3

    clock.advance(seconds=2)  # past HUB_SMTP_BREAKER_RESET_S: a trial, which succeeds
    row = await _notify(client, owner, org, ann, worker)
    assert (row["provider"], _tried(row)) == ("primary", [("primary", "sent")])
    assert row["providerAttempts"][0]["at"].startswith("2027-03-01T09:05:01")
    assert _state(settings, "primary") == "closed"
    assert len(primary.handler.messages) == seen_by_primary + 1
