"""Context loops: services injected by name, a loop that returns is done, one that raises
is started again (after a pause the stop event cuts short)."""

from __future__ import annotations

import asyncio

from hub.kernel import loops
from hub.kernel.loops import Loop, run_loops


async def test_loops_get_their_services_and_restart_after_a_failure() -> None:
    seen: list[str] = []
    attempts = 0

    async def once(stop: asyncio.Event, *, greeting: str) -> None:
        seen.append(greeting)

    async def flaky(stop: asyncio.Event, *, greeting: str) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("first run fails")
        await stop.wait()

    stop = asyncio.Event()
    loops.RESTART_MIN_S, saved = 0.0, loops.RESTART_MIN_S
    try:
        running = asyncio.create_task(
            run_loops([Loop("a", once), Loop("b", flaky)], {"greeting": "hi"}, stop)
        )
        while attempts < 2:
            await asyncio.sleep(0)
        stop.set()
        await asyncio.wait_for(running, 5)
    finally:
        loops.RESTART_MIN_S = saved
    assert seen == ["hi"]  # returned: not started again
    assert attempts == 2  # raised once: started again
