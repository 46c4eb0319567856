"""The brute-force counters on the real Redis: thresholds, growing lockouts, success."""

from __future__ import annotations

import asyncio

from hub.identity.services.throttle import Throttle
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings


def _throttle(kernel: Kernel, settings: Settings) -> Throttle:
    tight = settings.replace(lockout_threshold=3, lockout_base_seconds=60, lockout_max_seconds=200)
    return Throttle(kernel.redis, tight.section("identity"))


async def test_lockouts_grow_until_the_cap(kernel: Kernel, settings: Settings) -> None:
    throttle = _throttle(kernel, settings)
    counter = throttle.account("alice@example.com")
    durations = []
    for _ in range(4):
        for _ in range(3):
            assert (await throttle.acquire(counter)).allowed
        locked = await throttle.acquire(counter)
        assert not locked.allowed
        assert locked.newly_locked == counter
        refused = await throttle.acquire(counter)
        assert not refused.allowed
        assert refused.newly_locked is None
        durations.append(round(locked.locked_ms / 1000))
        await kernel.redis.delete(counter.key + ":lock")  # as if the lock had run out
    assert durations == [60, 120, 200, 200]


async def test_success_clears_the_account_and_gives_back_the_ip_slot(
    kernel: Kernel, settings: Settings
) -> None:
    throttle = _throttle(kernel, settings)
    account, ip = throttle.account("bob@example.com"), throttle.ip("192.0.2.1")
    for _ in range(2):
        assert (await throttle.acquire(account, ip)).allowed
    ok = await throttle.acquire(account, ip)
    await throttle.succeeded(ok)
    assert await kernel.redis.get(account.key) is None
    assert int(await kernel.redis.get(ip.key) or 0) == 2  # the two failures still count
    for _ in range(3):
        assert (await throttle.acquire(account, ip)).allowed


async def test_concurrent_attempts_never_exceed_the_threshold(
    kernel: Kernel, settings: Settings
) -> None:
    throttle = _throttle(kernel, settings)
    counter = throttle.account("carol@example.com")
    attempts = await asyncio.gather(*(throttle.acquire(counter) for _ in range(40)))
    assert sum(a.allowed for a in attempts) == 3
    assert sum(a.newly_locked is not None for a in attempts) == 1
