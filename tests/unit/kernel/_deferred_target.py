"""Imported by tests/unit/kernel/test_deferred.py through a deferred module; counts its
own imports in a place that survives re-execution."""

from __future__ import annotations

import builtins
import time

_COUNTER = "_hub_deferred_target_imports"
setattr(builtins, _COUNTER, getattr(builtins, _COUNTER, 0) + 1)
time.sleep(0.05)  # a slow import: threads arriving meanwhile must wait for this one
IMPORTS: int = getattr(builtins, _COUNTER)


def double(value: int) -> int:
    return 2 * value
