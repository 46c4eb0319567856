"""A module imported on first use, for heavy libraries only some processes need.

scikit-learn, SciPy and skops take about 2 s of CPU to import, paid by every process
that imports the app (API, worker, every ``hub`` command, every test process) although
only the ones that train, suggest or embed documents use them. A context names such a
module with :func:`deferred_module` and uses it as usual; the import happens at the first
attribute read, through ``importlib`` (whose per-module lock makes concurrent first reads
from several threads wait for one import, unlike ``importlib.util.LazyLoader`` on 3.11).
Type checkers see the real module: declare it under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class DeferredModule:
    """Stands in for a module until an attribute is read, then forwards to it."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<deferred module {self._name!r} ({state})>"


def deferred_module(name: str) -> Any:
    """``name``, imported when first used (typed ``Any``: declare the real module for type
    checkers under ``TYPE_CHECKING``)."""
    return DeferredModule(name)
