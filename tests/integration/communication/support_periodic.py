"""Running communication's periodic jobs in a test: the services a worker's scheduler
would call, assembled on the test's event loop with the test's clock (their jobs go to
the real Redis broker, where the test's in-process worker runs them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hub.app import context_modules
from hub.kernel.clock import MovableClock
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.wiring import assemble


@asynccontextmanager
async def periodic_kernel(settings: Settings, clock: MovableClock) -> AsyncIterator[Kernel]:
    assert settings.database_url is not None
    assert settings.redis_url is not None
    kernel = Kernel(settings, settings.database_url, settings.redis_url, clock=clock)
    assemble(kernel, context_modules())
    try:
        yield kernel
    finally:
        await kernel.close()
