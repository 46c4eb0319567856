"""Periodic jobs: cron expressions declared by contexts, one firing per slot cluster-wide.

A context lists ``Periodic("content.purge_trash", "0 3 * * *", purge_trash)`` in its
``ContextModule.periodic``. Every worker process may run a :class:`Scheduler`; only the
one holding the Redis lease ``hub:scheduler:leader`` (renewed every tick, expiring after
``lease_ms`` when its holder dies) enqueues anything. As a second guard against two
leaders (a lease that expired during a long pause), each slot is claimed with
``SET hub:scheduler:fired:<name>:<slot> NX`` before its job is sent, so a slot runs once
even then.

Cron expressions have five fields, or six with seconds last (``"*/10 * * * * *"``), in
UTC. Missed slots (no scheduler running, Redis down) are not replayed one by one: the
most recent missed slot runs once when scheduling resumes, so a daily job that missed a
night runs once, not once per missed night.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from croniter import croniter
from redis.asyncio import Redis

from hub.kernel import telemetry
from hub.kernel.background import Background
from hub.kernel.jobs import JobSpec

log = structlog.get_logger("hub.scheduler")

PREFIX = "hub:scheduler"

# Renew only while we still hold the lease: a scheduler that paused past its lease must
# not extend one another process has taken since.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Periodic:
    name: str
    cron: str
    job: JobSpec | str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ValueError(f"periodic {self.name!r}: invalid cron expression {self.cron!r}")

    @property
    def job_name(self) -> str:
        return self.job.name if isinstance(self.job, JobSpec) else self.job

    def latest_slot(self, after: float, now: float) -> float | None:
        """The last slot in ``(after, now]``, or None when none is due yet."""
        it = croniter(self.cron, after)
        slot = float(it.get_next(float))
        if slot > now:
            return None
        latest = slot
        for _ in range(10_000):  # bounded: a per-second job missed for ~3 hours at most
            slot = float(it.get_next(float))
            if slot > now:
                break
            latest = slot
        return latest


class Scheduler:
    def __init__(
        self,
        redis: Redis,
        background: Background,
        periodic: Sequence[Periodic],
        *,
        tick_s: float = 1.0,
        lease_ms: int = 10_000,
        prefix: str = PREFIX,
    ) -> None:
        names = [p.name for p in periodic]
        if len(names) != len(set(names)):
            raise ValueError("periodic job names must be unique")
        self.redis = redis
        self.background = background
        self.periodic = tuple(periodic)
        self.tick_s = tick_s
        self.lease_ms = lease_ms
        self.prefix = prefix
        self.instance = uuid.uuid4().hex
        self.is_leader = False
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def _leader_key(self) -> str:
        return f"{self.prefix}:leader"

    async def _lead(self) -> bool:
        if self.is_leader and await self._renew(
            keys=[self._leader_key], args=[self.instance, self.lease_ms]
        ):
            return True
        took = await self.redis.set(self._leader_key, self.instance, nx=True, px=self.lease_ms)
        if took and not self.is_leader:
            log.info("scheduler_leading", instance=self.instance)
        self.is_leader = bool(took)
        return self.is_leader

    async def tick(self, now: float | None = None) -> list[tuple[str, float]]:
        """Lead if possible and fire every due slot; returns the (name, slot) pairs fired."""
        if not await self._lead():
            return []
        now = time.time() if now is None else now
        fired: list[tuple[str, float]] = []
        last_key = f"{self.prefix}:last"
        for item in self.periodic:
            raw = await self.redis.hget(last_key, item.name)
            if raw is None:
                # First sight of this job: start counting from now (no backfill).
                await self.redis.hsetnx(last_key, item.name, repr(now))
                continue
            slot = item.latest_slot(float(raw), now)
            if slot is None:
                continue
            claim = f"{self.prefix}:fired:{item.name}:{int(slot)}"
            if await self.redis.set(claim, self.instance, nx=True, ex=7 * 86_400):
                await asyncio.to_thread(
                    self.background.send,
                    item.job_name,
                    *item.args,
                    _key=f"periodic:{item.name}:{int(slot)}",
                    **dict(item.kwargs),
                )
                telemetry.SCHEDULED_RUNS.labels(item.name).inc()
                fired.append((item.name, slot))
                log.info("periodic_fired", name=item.name, slot=slot)
            await self.redis.hset(last_key, item.name, repr(slot))
        return fired

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    self.is_leader = False
                    if failures == 1 or failures % 60 == 0:
                        log.warning("scheduler_tick_failed", error=f"{type(exc).__name__}: {exc}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.tick_s)
        finally:
            if self.is_leader:
                with contextlib.suppress(Exception):
                    await self._release(keys=[self._leader_key], args=[self.instance])
                self.is_leader = False
