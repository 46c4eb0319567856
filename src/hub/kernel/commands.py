"""How a context's CLI commands get its services: the same factory as the API, injected.

The ``hub`` command installs a :class:`CommandServices` as its click context object; a
context's command calls :func:`run_with_services` with an async function whose keyword-only
parameters name the services it needs (``async def run(*, accounts: AccountService)``).
The kernel opens the servers, builds every context's services once, calls the function
and closes everything again, so a command never assembles services by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

import click

from hub.kernel.inject import inject
from hub.kernel.runtime import Kernel

T = TypeVar("T")


class CommandServices:
    def __init__(self, open_kernel: Callable[[], AbstractAsyncContextManager[Kernel]]) -> None:
        self._open_kernel = open_kernel

    def run(self, fn: Callable[..., Awaitable[T]]) -> T:
        async def main() -> T:
            async with self._open_kernel() as kernel:
                result: T = await inject(fn, kernel.services)()
                return result

        return asyncio.run(main())


def run_with_services(fn: Callable[..., Awaitable[T]]) -> T:
    """Run ``fn`` with the services its keyword-only parameters name."""
    root = click.get_current_context().find_root().obj
    if not isinstance(root, CommandServices):
        raise click.ClickException("run this command through `hub`")
    return root.run(fn)
