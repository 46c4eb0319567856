"""Markers a context's public ``api`` Protocol carries for the callers of its methods.

Framework-free (``hub.<ctx>.api`` imports it): a Protocol says which of its methods are
safe to repeat, because only the contract knows. The remote adapter
(``hub.kernel.remote``) retries those after a network failure and never retries the others
(a retried write could happen twice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_IDEMPOTENT = "__hub_idempotent__"


def idempotent(method: F) -> F:
    """Mark a Protocol method as safe to call twice (a read, or a write keyed to be
    applied once): a remote caller may retry it after a timeout or a dropped connection."""
    setattr(method, _IDEMPOTENT, True)
    return method


def is_idempotent(method: Callable[..., Any]) -> bool:
    return bool(getattr(method, _IDEMPOTENT, False))
