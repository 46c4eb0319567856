"""Long-running loops a context hands the worker, for work a cron slot is too coarse for.

A context lists ``Loop("workflow.timers", run_timers)`` in its ``ContextModule.loops``;
every worker process that runs the scheduler (``hub worker``, ``hub run``; not
``--no-scheduler``) runs each loop on the relay/scheduler event loop, with a kernel of its
own (its services are injected by keyword-only parameter name, like jobs). A loop gets
the process's stop event and returns when it is set (a loop that returns is done); one
that raises is logged and
started again after a pause, so a database outage does not end it. Several processes run
the same loop at once: a loop claims its work itself (``FOR UPDATE SKIP LOCKED``).

Why not a periodic job every second: each scheduler slot leaves a claim key in Redis for
a week (``hub.kernel.scheduler``) and a broker round trip, where a loop polls a partial
index directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from hub.kernel.inject import inject

log = structlog.get_logger("hub.loops")

#: Pause before a loop that raised is started again (doubling up to the maximum).
RESTART_MIN_S = 1.0
RESTART_MAX_S = 30.0


@dataclass(frozen=True)
class Loop:
    name: str
    #: ``async def fn(stop: asyncio.Event, *, some_service: Service) -> None``
    fn: Callable[..., Awaitable[None]]


async def run_loop(loop: Loop, services: Mapping[str, Any], stop: asyncio.Event) -> None:
    """Run ``loop`` until ``stop`` is set, restarting it (with a growing pause) when it
    raises."""
    fn = inject(loop.fn, services)
    pause = RESTART_MIN_S
    while not stop.is_set():
        try:
            await fn(stop)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("loop_failed", loop=loop.name, error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
            pause = min(RESTART_MAX_S, pause * 2)


async def run_loops(
    loops: Sequence[Loop], services: Mapping[str, Any], stop: asyncio.Event
) -> None:
    await asyncio.gather(*(run_loop(loop, services, stop) for loop in loops))
