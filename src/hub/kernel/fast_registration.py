"""Building the Litestar app in less CPU time, with the same app as a result.

``create_app`` costs about a second of CPU, paid at every start and by every test that
builds an app. Two of the things that take most of it are adjusted here:

* the per-route dependency check, quadratic in the number of app-level dependencies
  (:func:`check_dependencies_by_index`);
* deep-copying the ``/api/v1`` router, built for this app alone, when it is registered
  (:class:`OneAppRouter`).

The dependency check: when the app is built, Litestar resolves every route's
dependencies layer by layer (app, routers, controller, handler) and refuses a provider
that equals one already resolved under another key, comparing it with each of them in
turn. With the hub's ~100 app-level dependencies and ~350 routes that is ~1.5 million
``Provide.__eq__`` calls per build: a third of ``create_app``'s CPU time, paid again by
every test that builds an app.

:func:`check_dependencies_by_index` installs the same check (same refusals, same message,
naming the same earlier key) looking candidates up by their dependency callable instead
of scanning them all. Installed once by the composition root beside the other Litestar
adjustments of ``hub.kernel.wiring``; the litestar version is pinned and
``tests/unit/kernel/test_fast_registration.py`` compares both checks.
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Empty

_INSTALLED = "_hub_indexed"
#: Litestar's own method, for the tests that compare the results.
LITESTAR_RESOLVE_DEPENDENCIES = BaseRouteHandler.resolve_dependencies


class ProviderIndex:
    """The providers resolved so far for one route, by dependency callable.

    ``Provide.__eq__`` holds two providers equal when their dependency callables (and
    ``use_cache`` and cached ``value``) are, so only providers whose dependency is equal,
    hence hashes the same, can match: those are compared in full. A dependency that cannot
    be hashed is compared with everything, as Litestar does.
    """

    def __init__(self) -> None:
        self.resolved: dict[str, Provide] = {}
        self._by_dependency: dict[Any, set[str]] = {}
        self._unhashable: set[str] = set()

    def add(self, key: str, provider: Provide) -> None:
        """Resolve ``provider`` under ``key`` (replacing the one it overrides)."""
        previous = self.resolved.get(key)
        if previous is not None:
            self._forget(key, previous)
        self.resolved[key] = provider
        try:
            self._by_dependency.setdefault(provider.dependency, set()).add(key)
        except TypeError:
            self._unhashable.add(key)

    def check(self, key: str, provider: Provide) -> None:
        """Refuse ``provider`` if it equals one resolved so far under another key (or, as
        in Litestar, the one it is about to override)."""
        try:
            same = self._by_dependency.get(provider.dependency)
        except TypeError:
            candidates: set[str] = set(self.resolved)
        else:
            if not same and not self._unhashable:
                return
            candidates = (same or set()) | self._unhashable
        matching = {k for k in candidates if provider == self.resolved[k]}
        if matching:
            # The first in resolution order, as Litestar's scan would report.
            first = next(k for k in self.resolved if k in matching)
            raise ImproperlyConfiguredException(
                f"Provider for key {key} is already defined under the different key {first}. "
                f"If you wish to override a provider, it must have the same key."
            )

    def _forget(self, key: str, provider: Provide) -> None:
        self._unhashable.discard(key)
        try:
            keys = self._by_dependency.get(provider.dependency)
        except TypeError:
            return
        if keys is not None:
            keys.discard(key)


def check_dependencies_by_index() -> None:
    """Replace ``BaseRouteHandler.resolve_dependencies`` with the indexed check (once)."""
    if getattr(BaseRouteHandler.resolve_dependencies, _INSTALLED, False):
        return

    def resolve_dependencies(self: BaseRouteHandler) -> dict[str, Provide]:
        plugin_registry = self._get_plugin_registry()
        if self._resolved_dependencies is Empty:
            index = ProviderIndex()
            for layer in self.ownership_layers:
                for key, value in (layer.dependencies or {}).items():
                    provider = value if isinstance(value, Provide) else Provide(value)
                    index.check(key, provider)
                    # `_resolved_dependencies` stays Empty meanwhile, which is what tells
                    # Litestar's own `_resolve_dependency` to skip its quadratic scan; it
                    # still parses the provider's signature and builds its model.
                    index.add(
                        key,
                        self._resolve_dependency(
                            key=key, provider=provider, plugin_registry=plugin_registry
                        ),
                    )
            self._resolved_dependencies = index.resolved
        return self._resolved_dependencies

    setattr(resolve_dependencies, _INSTALLED, True)
    BaseRouteHandler.resolve_dependencies = resolve_dependencies  # type: ignore[method-assign]


class OneAppRouter(Router):
    """A router built for one app and registered on it alone.

    Litestar deep-copies a router when registering it, so one router object can serve
    several apps. ``create_app`` builds its ``/api/v1`` router afresh for the app it
    builds, so the copy (every route handler, its options and parsed signature) is pure
    cost: registering this router uses it as it is.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> OneAppRouter:
        return self
