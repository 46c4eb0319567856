"""The adjustments that make ``create_app`` cheaper build the very app Litestar builds
without them: the same refusals of duplicated providers, the same dependencies per route,
and the same OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar, Router, get
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers.base import BaseRouteHandler
from litestar.testing import AsyncTestClient

import hub.app
from hub.app import create_app, load_settings
from hub.kernel.fast_registration import (
    LITESTAR_RESOLVE_DEPENDENCIES,
    OneAppRouter,
    check_dependencies_by_index,
)


def _one() -> int:
    return 1


def _two() -> int:
    return 2


class _Unhashable:
    """A callable dependency that cannot be hashed and equals any other of its kind."""

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Unhashable)

    def __call__(self) -> int:
        return 3


def _outcome(app_deps: dict[str, Any], handler_deps: dict[str, Any]) -> tuple[str, list[str] | str]:
    """What building an app with these app- and handler-level dependencies gives: the
    handler's dependency keys in order, or the refusal's message."""

    @get("/", sync_to_thread=False, dependencies=handler_deps)
    def handler() -> str:
        return "ok"

    try:
        app = Litestar([handler], dependencies=app_deps)
    except ImproperlyConfiguredException as exc:
        return "refused", str(exc.detail)
    (route_handler,) = [h for r in app.routes for h in getattr(r, "route_handlers", [])][:1]
    return "built", list(route_handler.resolve_dependencies())


SHARED = Provide(_one, sync_to_thread=False)
CASES: list[tuple[str, Callable[[], tuple[dict[str, Any], dict[str, Any]]]]] = [
    ("distinct", lambda: ({"a": Provide(_one), "b": Provide(_two)}, {"c": _Unhashable()})),
    ("one provider, two keys", lambda: ({"a": SHARED, "b": SHARED}, {})),
    ("equal providers, two layers", lambda: ({"a": Provide(_one)}, {"b": Provide(_one)})),
    ("equal provider overriding its key", lambda: ({"a": Provide(_one)}, {"a": Provide(_one)})),
    ("other provider overriding a key", lambda: ({"a": Provide(_one)}, {"a": Provide(_two)})),
    ("plain callables", lambda: ({"a": _one, "b": _two}, {"c": _one})),
    ("unhashable, equal", lambda: ({"a": _Unhashable(), "b": Provide(_two)}, {"c": _Unhashable()})),
    ("unhashable after hashable", lambda: ({"a": Provide(_one)}, {"b": _Unhashable()})),
]


@pytest.mark.parametrize(("name", "deps"), CASES, ids=[c[0] for c in CASES])
def test_the_indexed_check_refuses_and_accepts_what_litestar_does(
    name: str,
    deps: Callable[[], tuple[dict[str, Any], dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check_dependencies_by_index()
    indexed = _outcome(*deps())
    monkeypatch.setattr(BaseRouteHandler, "resolve_dependencies", LITESTAR_RESOLVE_DEPENDENCIES)
    assert _outcome(*deps()) == indexed


def test_the_cases_cover_refusals_and_overrides() -> None:
    check_dependencies_by_index()
    outcomes = {name: _outcome(*deps()) for name, deps in CASES}
    assert outcomes["distinct"] == ("built", ["a", "b", "c"])
    assert outcomes["one provider, two keys"] == (
        "refused",
        "Provider for key b is already defined under the different key a. "
        "If you wish to override a provider, it must have the same key.",
    )
    assert outcomes["equal providers, two layers"][0] == "refused"
    assert outcomes["equal provider overriding its key"][0] == "refused"  # Litestar's quirk
    assert outcomes["other provider overriding a key"] == ("built", ["a"])
    assert outcomes["plain callables"][0] == "refused"
    assert outcomes["unhashable, equal"][0] == "refused"
    assert outcomes["unhashable after hashable"] == ("built", ["a", "b"])


async def test_a_one_app_router_is_registered_as_it_is() -> None:
    @get("/ping", sync_to_thread=False)
    def ping() -> str:
        return "pong"

    router = OneAppRouter(path="/api", route_handlers=[ping])
    app = Litestar([router])
    registered = [h for r in app.routes for h in getattr(r, "route_handlers", [])]
    assert any(h.owner is router for h in registered)
    assert router.owner is app
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/ping")).text == "pong"
    # A plain router is still copied.
    plain = Router(path="/api", route_handlers=[ping])
    Litestar([plain])
    assert plain.owner is None


def _fingerprint(app: Litestar) -> tuple[str, dict[str, list[str]]]:
    routes = {
        f"{r.path} {sorted(getattr(h, 'http_methods', []))}": list(h.resolve_dependencies())
        for r in app.routes
        for h in getattr(r, "route_handlers", [])
    }
    document = _without_examples(app.openapi_schema.to_schema())
    return json.dumps(document, sort_keys=True, default=str), routes


def _without_examples(value: Any) -> Any:
    # Generated examples are drawn at random, afresh for each app built in a process.
    if isinstance(value, dict):
        return {k: _without_examples(v) for k, v in value.items() if k != "examples"}
    if isinstance(value, list):
        return [_without_examples(v) for v in value]
    return value


def test_the_hub_app_comes_out_as_litestar_builds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(
        environ={},
        env="test",
        database_url="postgresql://nobody@127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
    )
    fast = _fingerprint(create_app(settings, configure_logs=False))
    monkeypatch.setattr(BaseRouteHandler, "resolve_dependencies", LITESTAR_RESOLVE_DEPENDENCIES)
    monkeypatch.setattr(hub.app, "check_dependencies_by_index", lambda: None)
    monkeypatch.setattr(hub.app, "OneAppRouter", Router)
    plain = _fingerprint(create_app(settings, configure_logs=False))
    assert fast[1] == plain[1]
    assert fast[0] == plain[0]
