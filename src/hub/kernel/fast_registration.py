"""Building the Litestar app in less CPU time, with the same app as a result.

``create_app`` costs about a second of CPU, paid at every start and by every test that
builds an app. Two of the things that take most of it are adjusted here:

* the per-route dependency check, quadratic in the number of app-level dependencies
  (:func:`check_dependencies_by_index`);
* deep-copying the ``/api/v1`` router, built for this app alone, when it is registered
  (:class:`OneAppRouter`);
* parsing the same handler and provider functions' signatures again for every app built
  in one process (:func:`remember_parsed_signatures`).

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

import inspect
from collections.abc import Callable
from typing import Any

from litestar import Router
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Empty
from litestar.utils.signature import ParsedSignature

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


#: Per code object (by identity): the parses made from it, newest last, at most
#: ``_PARSES_PER_CODE``. Code objects live as long as the process (closures of one ``def``
#: share theirs), so nothing here keeps an app alive beyond that bound.
_PARSED: dict[int, list[tuple[tuple[Any, ...], ParsedSignature]]] = {}
_PARSES_PER_CODE = 4
LITESTAR_FROM_FN = ParsedSignature.from_fn.__func__  # type: ignore[attr-defined]


def _inputs(fn: Callable[..., Any], namespace: dict[str, Any]) -> tuple[Any, ...] | None:
    """Everything a parse of ``fn`` reads, or None when that cannot be told safely.

    A method is parsed without ``self``, from its function; a closure made again for each
    app shares its code object with the last one, and its annotations and defaults are the
    same objects (constants of that code) unless someone made them per app. So: the code
    and the globals by identity, each annotation and default by identity (an equal but
    different default must not be handed to another app), and the namespace by value (each
    app builds its own dict of the same types). A function with its own ``__signature__``
    or ``__wrapped__`` is not remembered.
    """
    bound = inspect.ismethod(fn)
    target = fn.__func__ if bound else fn  # type: ignore[attr-defined]
    code = getattr(target, "__code__", None)
    if code is None or not inspect.isfunction(target):
        return None
    if "__signature__" in vars(target) or "__wrapped__" in vars(target):
        return None
    annotations = target.__annotations__
    return (
        code,
        target.__globals__,
        bound,
        tuple(annotations),
        tuple(annotations.values()),
        target.__defaults__ or (),
        tuple((target.__kwdefaults__ or {}).items()),
        dict(namespace),
    )


def _same(seen: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
    (code, globs, bound, names, annotations, defaults, kwdefaults, namespace) = seen
    return (
        code is now[0]
        and globs is now[1]
        and bound == now[2]
        and names == now[3]
        and _identical(annotations, now[4])
        and _identical(defaults, now[5])
        and len(kwdefaults) == len(now[6])
        and all(k == n[0] and v is n[1] for (k, v), n in zip(kwdefaults, now[6], strict=True))
        and namespace == now[7]
    )


def _identical(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def remember_parsed_signatures() -> None:
    """Make ``ParsedSignature.from_fn`` answer from memory a function parsed before from the
    same code, annotations, defaults and namespace (installed once per process).

    Every app build parses ~500 handler and provider signatures (``get_type_hints`` and
    Litestar's field definitions): a third of ``create_app``'s CPU time, paid again by each
    test's app. Controller handlers arrive as new bound methods and providers as new
    closures for every app, so the function object cannot be the key; equal code objects
    cannot either (two functions may compile to equal code and differ in annotations), so
    the code object's identity is, with everything else the parse reads (:func:`_inputs`).
    """
    if getattr(ParsedSignature.from_fn, _INSTALLED, False):
        return

    def from_fn(
        cls: type[ParsedSignature], fn: Callable[..., Any], signature_namespace: dict[str, Any]
    ) -> ParsedSignature:
        try:
            inputs = _inputs(fn, signature_namespace)
            if inputs is None:
                return LITESTAR_FROM_FN(cls, fn, signature_namespace)  # type: ignore[no-any-return]
            entries = _PARSED.setdefault(id(inputs[0]), [])
            for seen, parsed in entries:
                if _same(seen, inputs):
                    return parsed
        except Exception:  # a namespace value whose == refuses; parse as Litestar does
            return LITESTAR_FROM_FN(cls, fn, signature_namespace)  # type: ignore[no-any-return]
        parsed = LITESTAR_FROM_FN(cls, fn, signature_namespace)
        entries.append((inputs, parsed))
        del entries[:-_PARSES_PER_CODE]
        return parsed  # type: ignore[no-any-return]

    setattr(from_fn, _INSTALLED, True)
    ParsedSignature.from_fn = classmethod(from_fn)  # type: ignore[method-assign,assignment]
