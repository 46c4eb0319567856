"""The kernel a built app serves with, read at each use by what Litestar builds once.

Building the Litestar app registers ~400 routes: most of ``create_app``'s cost, and the
same for a given configuration. The parts of the app that Litestar builds once (the
dependency providers, the rate-limit middleware, the internal API, the lifespan, the
client-address lookup of the access log) therefore read the kernel through a
:class:`Serving` instead of holding the kernel they were built with.

Production binds one kernel for the life of the process. The test suite builds an app once
per configuration and :meth:`Serving.renew` gives each test a new kernel: new connections,
services built anew, nothing kept from the test before (a clock a test moved, a cache it
filled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hub.kernel.runtime import Kernel


class Serving:
    """The current kernel of one app, and how to build another like it."""

    def __init__(self, build: Callable[[], Kernel]) -> None:
        self._build = build
        self.kernel = build()
        #: True between the app's start and its shutdown: its kernel is in use.
        self.running = False
        self.services: Mapping[str, Any] = CurrentServices(self)

    def renew(self) -> Kernel:
        """Replace the kernel by a new one built the same way (the app must be stopped)."""
        if self.running:
            raise RuntimeError("the app is running: its kernel cannot be replaced")
        kernel = self._build()
        if kernel.services.keys() != self.kernel.services.keys():
            # Providers were made per service name when the app was built.
            raise RuntimeError("a renewed kernel must offer the same services")
        self.kernel = kernel
        return kernel


class CurrentServices(Mapping[str, Any]):
    """The services of whichever kernel the app serves with now."""

    def __init__(self, serving: Serving) -> None:
        self._serving = serving

    def __getitem__(self, name: str) -> Any:
        return self._serving.kernel.services[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._serving.kernel.services)

    def __len__(self) -> int:
        return len(self._serving.kernel.services)
