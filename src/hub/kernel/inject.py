"""Injection by signature: a function's keyword-only parameters named after a service
receive it. Jobs, event handlers, start-up hooks, CLI commands and services factories are
all called this way (``hub.kernel.wiring`` builds the services)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any


class WiringError(RuntimeError):
    """Two contexts claim the same name, or a declaration asks for an unknown service."""


def inject(fn: Callable[..., Any], provided: Mapping[str, Any]) -> Callable[..., Any]:
    """``fn`` with its keyword-only parameters named after a service filled in."""
    wanted = _injectable(fn)
    missing = [name for name in wanted if name not in provided]
    if missing:
        raise WiringError(f"{_name(fn)} asks for unknown dependencies: {', '.join(missing)}")
    if not wanted:
        return fn
    return functools.partial(fn, **{name: provided[name] for name in wanted})


@functools.cache
def _injectable(fn: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(
        name
        for name, parameter in inspect.signature(fn).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.default is inspect.Parameter.empty
    )


def _name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)!s}"
