"""The relay: prompt wake-up, order per aggregate, concurrent relays, Redis outages."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis as redis_sync
from dramatiq import Message
from litestar import Request, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.devservers import EmbeddedRedis
from hub.kernel.background import Background
from hub.kernel.db import Database
from hub.kernel.outbox import outbox_of
from hub.kernel.relay import Relay
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.subscribers import SubscriptionRegistry
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel import eventkit
from tests.integration.kernel.eventkit import ThingHappened, effects, fetch, publish
from tests.support import problem


def _background(settings: Settings) -> Background:
    subscriptions = SubscriptionRegistry()
    for m in eventkit.two_subscribers():
        subscriptions.add(m.name, m.schema, m.subscriptions)
    return Background(settings, subscriptions=subscriptions, schemas=["content"])


def _queued_events(settings: Settings) -> list[tuple[str, ThingHappened]]:
    """(handler, event) of every message on the events queue, in enqueue order."""
    client = redis_sync.Redis.from_url(settings.redis_url or "")
    try:
        ids = client.lrange("hub:events", 0, -1)
        datas = client.hmget("hub:events.msgs", ids) if ids else []
    finally:
        client.close()
    out = []
    for data in datas:
        message = Message.decode(data)
        handler, items = message.args
        for _event_type, payload, _correlation_id in items:
            out.append((handler, msgspec.json.decode(payload, type=ThingHappened)))
    return out


async def test_commit_wakes_the_relay_without_waiting_for_the_sweep(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    await eventkit.reset_effects(settings)
    slow_sweep = msgspec.structs.replace(
        fast_job_settings(settings), relay_sweep_interval_ms=120_000
    )
    worker = InProcessWorker(slow_sweep, eventkit.two_subscribers(), scheduler=False).start()
    try:
        relay = worker.services.relay
        assert relay is not None
        for _ in range(200):
            if relay.listening.is_set():
                break
            await asyncio.sleep(0.02)
        assert relay.listening.is_set()
        await asyncio.sleep(0.1)  # the relay's first pass is over; it now waits to be woken
        started = time.monotonic()
        await publish(kernel.db, ThingHappened(thing_id="woken", n=1))
        while len(await effects(settings)) < 2 and time.monotonic() - started < 20:
            await asyncio.sleep(0.02)
        # Delivered, and long before the 120 s sweep could have done it.
        assert len(await effects(settings)) == 2
        assert time.monotonic() - started < 20
    finally:
        await asyncio.to_thread(worker.stop)


async def test_two_relays_publish_each_row_once_in_order_per_aggregate(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    aggregates = [f"agg-{i}" for i in range(30)]
    for n in range(8):  # eight commits, each with one event per aggregate
        await publish(kernel.db, *(ThingHappened(thing_id=a, n=n) for a in aggregates))
    background = _background(settings)
    db_a = Database(settings.database_url or "", pool_size=2)
    db_b = Database(settings.database_url or "", pool_size=2)
    relay_a = Relay(db_a, background, ["content"], batch_size=17, listen=False)
    relay_b = Relay(db_b, background, ["content"], batch_size=23, listen=False)
    try:
        moved = await asyncio.gather(relay_a.drain(), relay_b.drain(), relay_a.drain())
        moved_last = await relay_b.drain()  # whatever one left for the other
    finally:
        background.close()
        await db_a.dispose()
        await db_b.dispose()
    assert sum(moved) + moved_last == 240
    assert (
        await fetch(settings, "SELECT count(*) AS n FROM content.outbox WHERE published_at IS NULL")
    )[0]["n"] == 0
    queued = _queued_events(settings)
    # No double publishing: every (subscriber, event) exactly once.
    assert len(queued) == 480
    assert len({(h, e.event_id) for h, e in queued}) == 480
    # Order per aggregate: for each subscriber, n goes 0..7 in enqueue order.
    sequences: dict[tuple[str, str], list[int]] = defaultdict(list)
    for handler, event in queued:
        sequences[(handler, event.thing_id)].append(event.n)
    assert len(sequences) == 60
    assert all(seq == list(range(8)) for seq in sequences.values()), sequences


async def test_events_without_subscribers_are_marked_published(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    background = Background(settings, schemas=["content"])
    relay = Relay(kernel.db, background, ["content"], listen=False)
    try:
        await publish(kernel.db, ThingHappened(thing_id="lonely", n=1))
        assert await relay.drain() == 1
    finally:
        background.close()
    assert _queued_events(settings) == []
    rows = await fetch(settings, "SELECT published_at, attempts FROM content.outbox")
    assert rows[0]["published_at"] is not None
    assert rows[0]["attempts"] == 1


# --------------------------------------------------------------------- Redis outage


@post("/test/things")
async def create_thing(
    request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    kernel: Kernel = request.app.state.kernel
    async with kernel.db.unit_of_work(outbox_of("content")) as uow:
        uow.publish(ThingHappened(thing_id=str(data["thing"]), n=int(data["n"])))
        await uow.commit()
    return {"ok": True}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis only this test uses, so stopping it disturbs nobody else."""
    server = EmbeddedRedis(tmp_path / "outage")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def outage_setup(
    settings: Settings, clean_state: None, own_redis: EmbeddedRedis
) -> AsyncIterator[tuple[AsyncTestClient[Any], InProcessWorker, EmbeddedRedis]]:
    await eventkit.reset_effects(settings)
    url = own_redis.start()
    configured = msgspec.structs.replace(fast_job_settings(settings), redis_url=url)
    app = create_app(configured, extra_route_handlers=[create_thing], configure_logs=False)
    worker = InProcessWorker(configured, eventkit.two_subscribers(), scheduler=False).start()
    try:
        async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
            yield client, worker, own_redis
    finally:
        await asyncio.to_thread(worker.stop)


@pytest.mark.slow
async def test_redis_outage_keeps_writes_in_the_outbox_until_redis_returns(
    outage_setup: tuple[AsyncTestClient[Any], InProcessWorker, EmbeddedRedis],
    settings: Settings,
) -> None:
    client, worker, redis_server = outage_setup
    for n in range(3):
        assert (await client.post("/test/things", json={"thing": "t", "n": n})).status_code == 201
    await worker.drain()
    assert len(await effects(settings)) == 6

    await asyncio.to_thread(redis_server.stop)
    for n in range(3, 8):
        r = await client.post("/test/things", json={"thing": "t", "n": n})
        assert r.status_code == 201, r.text
    ready = await client.get("/ready")
    assert ready.status_code == 503
    body = problem(ready)
    assert body["extra"]["checks"]["redis"] == "unavailable"
    assert body["extra"]["checks"]["database"] == "ok"
    # The relay keeps trying and failing: the rows wait in the outbox, marked as such.
    for _ in range(200):
        waiting = await fetch(
            settings,
            "SELECT attempts, last_error FROM content.outbox WHERE published_at IS NULL",
        )
        if len(waiting) == 5 and any(r["attempts"] > 0 for r in waiting):
            break
        await asyncio.sleep(0.05)
    assert len(waiting) == 5
    assert any(r["last_error"] for r in waiting)
    assert len(await effects(settings)) == 6

    await asyncio.to_thread(redis_server.start)
    await worker.drain(within=30)
    got = await effects(settings)
    assert len(got) == 16
    assert Counter(r["handler"] for r in got) == {"workflow": 8, "communication": 8}
    assert sorted({r["n"] for r in got}) == list(range(8))
    assert (await client.get("/ready")).status_code == 200
