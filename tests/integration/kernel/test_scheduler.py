"""The periodic scheduler: one leader across processes, each slot fired once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis as redis_sync
from dramatiq import Message

from hub.kernel.background import Background
from hub.kernel.cache import create_redis
from hub.kernel.scheduler import Periodic, Scheduler
from hub.kernel.settings import Settings
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel import eventkit
from tests.integration.kernel.eventkit import fetch

EVERY_SECOND = Periodic("workflow.heartbeat", "* * * * * *", "workflow.record_run", ("tick",))
EVERY_MINUTE = Periodic("workflow.minutely", "* * * * *", "workflow.record_run", ("minute",))
T0 = 1_800_000_000.0  # a whole minute (UTC)


def _queued_keys(settings: Settings) -> list[str]:
    client = redis_sync.Redis.from_url(settings.redis_url or "")
    try:
        datas = client.hvals("hub:default.msgs")
    finally:
        client.close()
    return [Message.decode(d).options["hub_key"] for d in datas]


@pytest.fixture
async def pair(settings: Settings, clean_state: None) -> AsyncIterator[tuple[Scheduler, Scheduler]]:
    background = Background(settings, jobs=[eventkit.record_run_job])
    redis_a, redis_b = (
        create_redis(settings.redis_url or ""),
        create_redis(settings.redis_url or ""),
    )
    periodic = [EVERY_SECOND, EVERY_MINUTE]
    a = Scheduler(redis_a, background, periodic, lease_ms=400)
    b = Scheduler(redis_b, background, periodic, lease_ms=400)
    try:
        yield a, b
    finally:
        await redis_a.aclose()
        await redis_b.aclose()
        background.close()


async def test_two_schedulers_fire_each_slot_once(
    pair: tuple[Scheduler, Scheduler], settings: Settings
) -> None:
    a, b = pair
    fired: list[tuple[str, float]] = []
    # Both tick at the same instants (simulated clock; the lease is real Redis).
    for second in range(0, 125):
        results = await asyncio.gather(a.tick(T0 + second), b.tick(T0 + second))
        fired.extend(results[0] + results[1])
        assert not (a.is_leader and b.is_leader)
    counts = Counter(name for name, _ in fired)
    # First sight at T0 starts the clock: seconds 1..124 and minutes 60 and 120.
    assert counts == {"workflow.heartbeat": 124, "workflow.minutely": 2}
    keys = _queued_keys(settings)
    assert len(keys) == 126
    assert len(set(keys)) == 126


async def test_a_new_leader_takes_over_without_repeating_slots(
    pair: tuple[Scheduler, Scheduler], settings: Settings
) -> None:
    a, b = pair
    for second in range(0, 3):
        await asyncio.gather(a.tick(T0 + second), b.tick(T0 + second))
    leader, follower = (a, b) if a.is_leader else (b, a)
    assert leader.is_leader
    assert not follower.is_leader
    # The leader dies without releasing its lease; the other takes over once it expires
    # and, being behind on nothing, fires only the slots that are due.
    await asyncio.sleep(0.5)
    fired = await follower.tick(T0 + 5)
    assert follower.is_leader
    assert fired == [("workflow.heartbeat", T0 + 5)]  # the latest missed slot, once
    # Even a leader that lost its lease without noticing cannot fire a slot again.
    leader.is_leader = True
    await leader.redis.set("hub:scheduler:leader", leader.instance)
    assert await leader.tick(T0 + 5) == []
    keys = _queued_keys(settings)
    assert len(keys) == len(set(keys)) == 3


async def test_scheduler_runs_periodic_jobs_in_a_worker(
    settings: Settings, clean_state: None
) -> None:
    await eventkit.reset_effects(settings)
    modules = [eventkit.module("workflow", jobs=[eventkit.record_run_job], periodic=[EVERY_SECOND])]
    fast = fast_job_settings(settings)
    # Two schedulers in two "processes" (dramatiq allows one consuming worker per process,
    # so the second only schedules and relays).
    workers = [
        InProcessWorker(fast, modules, threads=1).start(),
        InProcessWorker(fast, modules, consume=False).start(),
    ]
    try:
        for _ in range(100):
            runs = await fetch(settings, "SELECT key FROM kernel_test.job_runs")
            if len(runs) >= 2:
                break
            await asyncio.sleep(0.05)
        schedulers = [w.services.scheduler for w in workers]
        assert sum(1 for s in schedulers if s is not None and s.is_leader) == 1
    finally:
        for w in workers:
            await asyncio.to_thread(w.stop)
    keys = [r["key"] for r in await fetch(settings, "SELECT key FROM kernel_test.job_runs")]
    assert len(keys) >= 2
    assert len(keys) == len(set(keys))  # each second ran once although two schedulers ran
    assert all(k.startswith("periodic:workflow.heartbeat:") for k in keys)


def test_periodic_refuses_a_bad_cron_expression() -> None:
    with pytest.raises(ValueError, match="invalid cron"):
        Periodic("workflow.bad", "every day", "workflow.record_run")


def test_schedulers_refuse_duplicate_names(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unique"):
        Scheduler(None, None, [EVERY_SECOND, EVERY_SECOND])  # type: ignore[arg-type]
