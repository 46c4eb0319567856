"""Building the Litestar app in less CPU time, with the same app as a result.

``create_app`` costs about a second of CPU, paid at every start and by every test that
builds an app. Three things took most of it, each adjusted here:

* the per-route dependency check, quadratic in the number of app-level dependencies
  (:func:`check_dependencies_by_index`);
* parsing every handler's signature again for each app, ``eval`` of each string
  annotation included (:func:`cache_parsed_signatures`);
* deep-copying the ``/api/v1`` router, built for this app alone, when it is registered
  (:class:`OneAppRouter`).

The dependency check: when the app is built, Litestar resolves every route's
dependencies layer by layer (app, routers, controller, handler) and refuses a provider
that equals one already resolved under another key, comparing it with each of them in
turn. With the hub's ~100 app-level
dependencies and ~350 routes that is ~1.5 million ``Provide.__eq__`` calls per build: a
third of ``create_app``'s CPU time, paid again by every test that builds an app.

:func:`check_dependencies_by_index` installs the same check (same refusals, same message,
naming the same earlier key) looking candidates up by their dependency callable instead
of scanning them all. Installed once by the composition root beside the other Litestar
adjustments of ``hub.kernel.wiring``; the litestar version is pinned and
``tests/unit/kernel/test_fast_registration.py`` compares both checks.
"""

from __future__ import annotations

import types
from typing import Any

from litestar import Router
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Empty
from litestar.utils.signature import ParsedSignature

_INSTALLED = "_hub_indexed"
#: Litestar's own methods, for the tests that compare the results.
LITESTAR_RESOLVE_DEPENDENCIES = BaseRouteHandler.resolve_dependencies
LITESTAR_FROM_FN = vars(ParsedSignature)["from_fn"]


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


_CACHED = "_hub_cached"


def cache_parsed_signatures() -> None:
    """Parse a function's signature once per process, not once per app (once).

    Litestar parses a route handler's signature (``inspect.signature`` plus
    ``get_type_hints``, which evaluates every string annotation) on each copy of the
    handler, and every app registers fresh copies (controller handlers bound to a fresh
    controller, and per-route closures such as the ``OPTIONS`` handlers). The result is
    an immutable ``ParsedSignature`` (Litestar already shares one between the routes using
    a provider) that depends only on what the key holds: the function's code, module,
    string annotations and defaults (a bound method: its function; ``self`` is never
    part of the result), and the signature namespace of the handler's layers. Anything
    else (annotations that are objects, ``__wrapped__``, callable instances, defaults of a
    function defined at run time) is parsed every time, as before.
    """
    if getattr(ParsedSignature.from_fn, _CACHED, False):
        return
    parse = ParsedSignature.from_fn.__func__  # type: ignore[attr-defined]
    parsed: dict[tuple[Any, ...], ParsedSignature] = {}

    def from_fn(
        cls: type[ParsedSignature], fn: Any, signature_namespace: dict[str, Any]
    ) -> ParsedSignature:
        key = _signature_key(cls, fn, signature_namespace)
        if key is None:
            return parse(cls, fn, signature_namespace)  # type: ignore[no-any-return]
        found = parsed.get(key)
        if found is None:
            found = parsed[key] = parse(cls, fn, signature_namespace)
        return found

    setattr(from_fn, _CACHED, True)
    ParsedSignature.from_fn = classmethod(from_fn)  # type: ignore[method-assign,assignment]


def _signature_key(cls: type[Any], fn: Any, namespace: dict[str, Any]) -> tuple[Any, ...] | None:
    """What a parsed signature of ``fn`` depends on, or None when that is not known."""
    bound = type(fn) is types.MethodType
    function = fn.__func__ if bound else fn
    if type(function) is not types.FunctionType or hasattr(function, "__wrapped__"):
        return None
    defaults = function.__defaults__ or ()
    keyword_defaults = tuple((function.__kwdefaults__ or {}).items())
    if (defaults or keyword_defaults) and "<locals>" in function.__qualname__:
        return None  # a function built at run time: its defaults may be anything
    annotations = function.__annotations__
    if not all(type(a) is str for a in annotations.values()):
        return None
    key = (
        cls,
        function.__code__,
        function.__module__,
        bound,
        defaults,
        keyword_defaults,
        *annotations.items(),
        None,  # annotations end, the namespace begins
        *namespace.items(),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


class OneAppRouter(Router):
    """A router built for one app and registered on it alone.

    Litestar deep-copies a router when registering it, so one router object can serve
    several apps. ``create_app`` builds its ``/api/v1`` router afresh for the app it
    builds, so the copy (every route handler, its options and parsed signature) is pure
    cost: registering this router uses it as it is.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> OneAppRouter:
        return self
