"""The timer loop: fires due timers (SLA steps, and the cron and date triggers'
``services.schedules``) within ``HUB_WORKFLOW_TIMER_POLL_MS`` of their due time.

Every worker process running the scheduler runs it (``hub.kernel.loops``). One turn fires
every due timer (with ``HUB_WORKFLOW_TIMER_FIRERS`` concurrent claimers when there is a
backlog), claimed with ``FOR UPDATE SKIP LOCKED`` (:meth:`TimerService.fire_due`, so several
processes never fire one twice and a crash leaves it pending for the next turn), then
sleeps until the next pending timer is due, never longer than the poll interval: a timer
written meanwhile by another process waits at most that long. Timers are rows, so a
restart loses nothing. The clock is the services' (a test's movable clock), and so is the
pause: tests hand in ``wait`` and never sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from hub.kernel.clock import Clock
from hub.workflow.services.schedules import ScheduleService
from hub.workflow.services.timers import CLAIM, TimerService

log = structlog.get_logger(__name__)

#: Timers one claimer fires per turn before the loop looks again (a backlog is worked
#: through turn after turn without pausing).
BATCH = 200

Wait = Callable[[asyncio.Event, float], Awaitable[None]]


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class TimerLoop:
    def __init__(
        self,
        timers: TimerService,
        schedules: ScheduleService,
        clock: Clock,
        *,
        poll_s: float,
        firers: int,
        wait: Wait = wait_or_stop,
    ) -> None:
        self.timers, self.schedules, self.clock = timers, schedules, clock
        self.poll_s, self.firers, self.wait = poll_s, firers, wait

    async def turn(self) -> tuple[int, float]:
        """Fire what is due; answers how many fired and how long to pause before the
        next turn (0 while a backlog remains). One claimer first (the usual turn finds a
        timer or two, and a saturated database should not pay for idle claimers); all
        ``firers`` once a full batch shows a backlog."""
        fired, started = await asyncio.gather(
            self.timers.fire_due(limit=CLAIM), self.schedules.fire_due(limit=BATCH)
        )
        backlog = started >= BATCH
        if fired >= CLAIM:
            counts = await asyncio.gather(
                *(self.timers.fire_due(limit=BATCH) for _ in range(self.firers))
            )
            fired += sum(counts)
            backlog = backlog or max(counts) >= BATCH
        if backlog:
            return fired + started, 0.0
        nexts = await asyncio.gather(self.timers.next_due(), self.schedules.next_due())
        dues = [d for d in nexts if d is not None]
        if not dues:
            return fired + started, self.poll_s
        pause = min(self.poll_s, max(0.0, (min(dues) - self.clock()).total_seconds()))
        return fired + started, pause

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                _, pause = await self.turn()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 60 == 0:
                    log.warning("workflow.timer_loop_failed", error=f"{type(exc).__name__}: {exc}")
                pause = min(30.0, self.poll_s * 2 ** min(failures, 6))
            if pause > 0:
                await self.wait(stop, pause)
