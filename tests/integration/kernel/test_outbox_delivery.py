"""Transactional outbox → relay → subscribers with an inbox, on the real servers."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import msgspec
import pytest
import structlog
from prometheus_client import REGISTRY

from hub.kernel.outbox import outbox_of
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel import eventkit
from tests.integration.kernel.eventkit import ThingHappened, effects, fetch, publish


@pytest.fixture
async def worker(settings: Settings, clean_state: None) -> AsyncIterator[InProcessWorker]:
    await eventkit.reset_effects(settings)
    w = InProcessWorker(
        fast_job_settings(settings), eventkit.two_subscribers(), threads=2, scheduler=False
    ).start()
    try:
        yield w
    finally:
        await asyncio.to_thread(w.stop)


async def test_rollback_publishes_nothing(kernel: Kernel, settings: Settings) -> None:
    thing = eventkit.new_thing()
    await publish(kernel.db, ThingHappened(thing_id=thing, n=1), commit=False)

    async def fail_midway() -> None:
        async with kernel.db.unit_of_work(outbox_of("content")) as uow:
            uow.publish(ThingHappened(thing_id=thing, n=2))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_midway()
    assert await fetch(settings, "SELECT * FROM content.outbox") == []


async def test_commit_writes_outbox_row_with_request_correlation(
    kernel: Kernel, settings: Settings
) -> None:
    actor, org = uuid.uuid4(), uuid.uuid4()
    event = ThingHappened(thing_id="t-1", n=7, actor_id=actor, organisation_id=org)
    with structlog.contextvars.bound_contextvars(request_id="req-42"):
        await publish(kernel.db, event)
    rows = await fetch(settings, "SELECT * FROM content.outbox")
    assert len(rows) == 1
    row = rows[0]
    assert row["event_id"] == event.event_id
    assert row["event_type"] == "content.thing_happened"
    assert row["aggregate_key"] == "t-1"
    assert row["correlation_id"] == "req-42"
    assert row["published_at"] is None
    payload = msgspec.json.decode(row["payload"])
    assert (payload["actorId"], payload["organisationId"]) == (str(actor), str(org))
    assert payload["correlationId"] == "req-42"


async def test_committed_event_reaches_each_subscriber_once(
    worker: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    event = ThingHappened(thing_id=eventkit.new_thing(), n=1)
    await publish(kernel.db, event)
    await worker.drain()
    got = await effects(settings)
    assert sorted(r["handler"] for r in got) == ["communication", "workflow"]
    assert {r["event_id"] for r in got} == {event.event_id}
    published = await fetch(settings, "SELECT published_at FROM content.outbox")
    assert published[0]["published_at"] is not None
    consumed = REGISTRY.get_sample_value(
        "hub_events_consumed_total", {"handler": "workflow.on_thing"}
    )
    assert consumed is not None
    assert consumed >= 1


async def test_redelivered_event_has_no_second_effect(
    worker: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    event = ThingHappened(thing_id=eventkit.new_thing(), n=1)
    await publish(kernel.db, event)
    await worker.drain()
    # The broker hands the same event over again, twice at once (e.g. a relay that died
    # before marking its batch, plus a worker presumed dead): still one effect each.
    assert await asyncio.to_thread(worker.background.send_event, event) == 2
    assert await asyncio.to_thread(worker.background.send_event, event) == 2
    await worker.drain()
    got = await effects(settings)
    assert Counter(r["handler"] for r in got) == {"communication": 1, "workflow": 1}
    inbox = await fetch(settings, "SELECT handler FROM workflow.inbox")
    assert [r["handler"] for r in inbox] == ["workflow.on_thing"]


async def test_relay_resending_a_batch_is_absorbed_by_the_inbox(
    worker: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    events = [ThingHappened(thing_id=eventkit.new_thing(), n=i) for i in range(20)]
    await publish(kernel.db, *events)
    await worker.drain()
    # Simulate a relay that sent but crashed before its commit: the rows are unpublished.
    await fetch(settings, "UPDATE content.outbox SET published_at = NULL")
    await worker.drain()
    got = await effects(settings)
    assert len(got) == 40
    assert len({(r["handler"], r["event_id"]) for r in got}) == 40


async def test_failing_handler_rolls_back_and_is_retried(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    await eventkit.reset_effects(settings)
    attempts: list[int] = []

    async def flaky(event: ThingHappened, uow: eventkit.UnitOfWork) -> None:
        await eventkit.record_effect(event, uow)
        attempts.append(event.n)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails after writing")

    modules = [
        eventkit.module("content"),
        eventkit.module(
            "workflow",
            subscriptions=[eventkit.Subscription(ThingHappened, flaky, name="workflow.flaky")],
        ),
    ]
    w = InProcessWorker(fast_job_settings(settings), modules, threads=1, scheduler=False).start()
    try:
        await publish(kernel.db, ThingHappened(thing_id="x", n=1))
        await w.drain()
    finally:
        await asyncio.to_thread(w.stop)
    assert attempts == [1, 1]
    # The first attempt's write rolled back with its inbox row; the retry's committed.
    assert [r["handler"] for r in await effects(settings)] == ["workflow"]
    assert len(await fetch(settings, "SELECT * FROM workflow.inbox")) == 1


async def test_housekeeping_prunes_old_outbox_and_inbox_rows(
    events: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    await publish(kernel.db, ThingHappened(thing_id="old", n=1), ThingHappened(thing_id="new", n=2))
    await fetch(
        settings,
        "UPDATE content.outbox SET published_at = now() - interval '8 days' "
        "WHERE aggregate_key = 'old'",
    )
    await fetch(
        settings,
        "INSERT INTO workflow.inbox (event_id, handler, event_type, processed_at) VALUES "
        "(gen_random_uuid(), 'workflow.x', 't', now() - interval '31 days'), "
        "(gen_random_uuid(), 'workflow.x', 't', now() - interval '29 days')",
    )
    await asyncio.to_thread(events.background.send, "kernel.prune_outbox_inbox")
    await events.drain()
    kept = await fetch(settings, "SELECT aggregate_key FROM content.outbox")
    assert [r["aggregate_key"] for r in kept] == ["new"]  # "old", published 8 days ago, is gone
    inbox = await fetch(  # the two rows above (workflow's catch-all records the events too)
        settings,
        "SELECT processed_at > now() - interval '30 days' AS recent FROM workflow.inbox "
        "WHERE handler = 'workflow.x'",
    )
    assert [r["recent"] for r in inbox] == [True]
