"""Ten thousand recipients fanned out in batches (bulk INSERTs, idempotent on replay), the
in-process API, and an e-mail greylisted once then delivered on retry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from hub.app import context_modules
from hub.communication.api import CommunicationApi
from hub.communication.services.fanout import FanOut
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.communication.support import (
    Client,
    deliveries,
    inbox,
    org_with,
    sent,
)
from tests.integration.identity.support import fetch
from tests.integration.kernel.test_mail import greylisting


@pytest.fixture
async def services_kernel(settings: Settings, clean_state: None) -> AsyncIterator[Kernel]:
    """Every context's services on this test's event loop (as a worker has them)."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url)
    assemble(kernel, context_modules())
    try:
        yield kernel
    finally:
        await kernel.close()


async def test_ten_thousand_recipients_fan_out_in_batches(
    services_kernel: Kernel, database_url: str
) -> None:
    recipients = [uuid.uuid4() for _ in range(10_000)]
    notification_id, org = uuid.uuid4(), uuid.uuid4()
    await fetch(
        database_url,
        "INSERT INTO communication.notifications (id, organisation_id, template_key,"
        " template_version, category, priority, channels, payload, recipient_ids, created_at)"
        " VALUES ($1, $2, 'general.announcement', 0, 'general', 'normal', '[\"in_app\"]',"
        ' \'{"title": "Hi", "text": "All"}\', $3, now())',
        notification_id,
        org,
        recipients,
    )
    fan_out: FanOut = services_kernel.services["notification_fan_out"]
    batch = services_kernel.settings.section("communication").notification_batch_size
    started = time.perf_counter()
    written = 0
    for start in range(0, len(recipients), batch):
        written += await fan_out.run(notification_id, start, start + batch)
    elapsed = time.perf_counter() - started
    print(f"fan-out of 10,000 in-app notifications: {elapsed:.2f}s")  # a bench note (-s)
    assert written == 10_000
    rows = await fetch(
        database_url,
        "SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM communication.inbox_items",
    )
    assert (rows[0]["n"], rows[0]["users"]) == (10_000, 10_000)
    assert await fan_out.run(notification_id, 0, batch) == 0  # a redelivered batch: nothing
    rows = await fetch(database_url, "SELECT count(*) AS n FROM communication.deliveries")
    assert rows[0]["n"] == 10_000


async def test_the_in_process_api_sends_to_members_only(
    client: Client, database_url: str, events: InProcessWorker, services_kernel: Kernel
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    api: CommunicationApi = services_kernel.services["communication_api"]
    notification_id = await api.notify(
        organisation_id=uuid.UUID(org),
        template_key="security.alert",
        user_ids=[uuid.UUID(people["ann"].user_id), uuid.uuid4()],
        payload={"summary": "Key created", "detail": "An API key was created."},
        channels=["in_app"],
    )
    await events.drain()
    (item,) = await inbox(client, people["ann"])
    assert (item["notificationId"], item["title"]) == (
        str(notification_id),
        "Security: Key created",
    )
    assert await inbox(client, owner) == []


async def test_a_greylisted_email_is_retried_then_sent(
    client: Client, database_url: str, settings: Settings
) -> None:
    owner, org, people = await org_with(client, database_url, ("ann", None))
    ann = people["ann"]
    with greylisting(refusals=0) as (handler, port):
        configured = msgspec.structs.replace(
            fast_job_settings(settings), smtp_url=f"smtp://127.0.0.1:{port}?starttls=0"
        )
        worker = InProcessWorker(configured, context_modules(), threads=2, scheduler=False).start()
        try:
            await worker.drain(within=20)  # the sign-up mail, accepted
            handler.refusals = len(handler.attempts) + 1  # the next attempt is greylisted
            note = await sent(
                client, owner, org, recipients={"userIds": [ann.user_id]}, channels=["email"]
            )
            await worker.drain(within=20)
        finally:
            await asyncio.to_thread(worker.stop)
    (row,) = await deliveries(client, owner, org, notificationId=note["id"])
    provider = f"127.0.0.1:{port}"  # the provider that took it (no ?name=: host:port)
    assert (row["status"], row["attempts"], row["provider"]) == ("sent", 2, provider)
    assert "450" in row["lastError"]
    # one provider: the 4xx had no one to fail over to, so the job ran again later
    tried = [(a["provider"], a["outcome"]) for a in row["providerAttempts"]]
    assert tried == [(provider, "refused"), (provider, "sent")]
    assert "450 4.2.0 Greylisted" in row["providerAttempts"][0]["error"]
    assert [m["Subject"] for m in handler.messages if m["To"] == ann.email][-1] == "Hello"
    assert len(handler.attempts) == handler.refusals + 1
